import type { ClientDirectory, ManagedClientSettings } from './deps.js';
import type { ClientRegistration, RegistryPort } from './registry.js';

/** How long a function trusts a registration it read: an `apply` reaches warm functions within it. */
export const CLIENT_CACHE_TTL_MS = 30_000;

/** What {@link registeredClients} needs besides the registry. */
export interface RegisteredClientsOptions {
  /** The clock in ms (the cache's). @default Date.now */
  readonly now?: () => number;
  /** @default CLIENT_CACHE_TTL_MS */
  readonly ttlMs?: number;
  /** Told of each registry item `ids` skipped because it cannot be read. @default - nothing told */
  readonly onUnreadable?: (key: string, error: Error) => void;
}

/** A registration as the workflow uses it: its kind and its policy (consumers and overrides). */
export function settingsOf(registration: ClientRegistration): ManagedClientSettings {
  return {
    kind: registration.clientKind,
    policy: { ...registration.policy, expectedConsumers: [...registration.expectedConsumers] },
  };
}

/**
 * The managed clients: the registry's (`rotator apply`, `rotator register`), never the
 * environment, so a fleet of any size fits and adding a client touches no infrastructure. A
 * client found is cached for `ttlMs` (a warm function rotating a fleet reads each once); a
 * client not found is asked again every time, so a client applied a moment ago is found at once.
 */
export function registeredClients(
  registry: Pick<RegistryPort, 'getRegistration' | 'listRegistrations'>,
  options: RegisteredClientsOptions = {},
): ClientDirectory {
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? CLIENT_CACHE_TTL_MS;
  const cache = new Map<string, { readonly settings: ManagedClientSettings; readonly until: number }>();
  return {
    find: async (clientId) => {
      const cached = cache.get(clientId);
      if (cached !== undefined && cached.until > now()) return cached.settings;
      const registered = await registry.getRegistration(clientId);
      if (registered === null) {
        cache.delete(clientId);
        return undefined;
      }
      const settings = settingsOf(registered);
      cache.set(clientId, { settings, until: now() + ttlMs });
      return settings;
    },
    // One unreadable item must not hide the rest of the fleet from the leak matching.
    ids: async () =>
      (
        await registry.listRegistrations({
          onUnreadable: (key, error) => options.onUnreadable?.(key, error),
        })
      ).map((registration) => registration.clientId),
  };
}
