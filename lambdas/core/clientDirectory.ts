import type { ClientDirectory, ManagedClientSettings } from './deps.js';
import type { RegistryPort } from './registry.js';

/**
 * The managed clients: the deployment config's, then those `rotator register` recorded in the
 * registry. The config wins when both name a client: it is what the operator deployed, reviewed
 * with the stack, while a registration is a run-time record. A registered client's policy is its
 * expected consumers with every trigger's default deadline. `ids` lists each client once.
 */
export function configuredThenRegistered(
  configured: Readonly<Record<string, ManagedClientSettings>>,
  registry: Pick<RegistryPort, 'getRegistration' | 'listRegistrations'>,
): ClientDirectory {
  return {
    find: async (clientId) => {
      // Own properties only: a client id such as `constructor` is not a configured client.
      if (Object.hasOwn(configured, clientId)) return configured[clientId];
      const registered = await registry.getRegistration(clientId);
      return registered === null
        ? undefined
        : { kind: registered.clientKind, policy: { expectedConsumers: [...registered.expectedConsumers] } };
    },
    ids: async () => {
      const registered = (await registry.listRegistrations()).map((registration) => registration.clientId);
      return [...new Set([...Object.keys(configured), ...registered])];
    },
  };
}
