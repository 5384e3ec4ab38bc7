import { describe, expect, it } from 'vitest';
import { configuredThenRegistered, registeredClients } from '#core/clientDirectory.js';
import type { ManagedClientSettings } from '#core/deps.js';
import type { ClientRegistration, RegistryPort } from '#core/registry.js';

const CONFIGURED: Readonly<Record<string, ManagedClientSettings>> = {
  'm2m-client-test-billing': { kind: 'm2m', policy: { expectedConsumers: ['billing-api'] } },
};

function registration(clientId: string, expectedConsumers: string[]): ClientRegistration {
  return {
    clientId,
    clientKind: 'm2m',
    name: `name-of-${clientId}`,
    scopes: ['read:things'],
    expectedConsumers,
    secretId: `stytch/m2m/${clientId}`,
    registeredAt: '2026-11-25T12:00:00.000Z',
    registeredBy: 'test',
  };
}

/** A registry holding `registrations`, counting the lookups it answers. */
function registryOf(...registrations: ClientRegistration[]) {
  const lookups: string[] = [];
  const registry: Pick<RegistryPort, 'getRegistration' | 'listRegistrations'> = {
    getRegistration: async (clientId) => {
      lookups.push(clientId);
      return registrations.find((entry) => entry.clientId === clientId) ?? null;
    },
    listRegistrations: async () => registrations,
  };
  return { registry, lookups };
}

describe('Function: configuredThenRegistered', () => {
  it('answers a configured client from the config, without asking the registry', async () => {
    // Prepare
    const { registry, lookups } = registryOf(registration('m2m-client-test-billing', ['someone-else']));
    const directory = configuredThenRegistered(CONFIGURED, registry);

    // Act
    const found = await directory.find('m2m-client-test-billing');

    // Assess
    expect(found).toEqual(CONFIGURED['m2m-client-test-billing']);
    expect(lookups).toEqual([]);
  });

  it('answers a registered client with its expected consumers and the default deadlines', async () => {
    // Prepare
    const { registry } = registryOf(registration('m2m-client-test-new', ['orders-api']));
    const directory = configuredThenRegistered(CONFIGURED, registry);

    // Act
    const found = await directory.find('m2m-client-test-new');

    // Assess
    expect(found).toEqual({ kind: 'm2m', policy: { expectedConsumers: ['orders-api'] } });
  });

  it('answers undefined for a client neither names', async () => {
    // Prepare
    const directory = configuredThenRegistered(CONFIGURED, registryOf().registry);

    // Act & Assess
    expect(await directory.find('m2m-client-test-unknown')).toBeUndefined();
  });

  it.each(['constructor', 'toString', 'hasOwnProperty'])(
    'does not take %s, a name every object inherits, for a configured client',
    async (clientId) => {
      // Prepare
      const { registry, lookups } = registryOf();
      const directory = configuredThenRegistered(CONFIGURED, registry);

      // Act
      const found = await directory.find(clientId);

      // Assess
      expect(found).toBeUndefined();
      expect(lookups).toEqual([clientId]);
    },
  );

  it('lists every client once, the configured ones first', async () => {
    // Prepare
    const { registry } = registryOf(
      registration('m2m-client-test-new', []),
      registration('m2m-client-test-billing', []),
    );
    const directory = configuredThenRegistered(CONFIGURED, registry);

    // Act
    const ids = await directory.ids();

    // Assess
    expect(ids).toEqual(['m2m-client-test-billing', 'm2m-client-test-new']);
  });
});

describe('Function: registeredClients', () => {
  it('reads a found client once per TTL, and a missing one every time (a client applied a moment ago is found)', async () => {
    // Prepare
    const registrations: ClientRegistration[] = [];
    const { registry, lookups } = (() => {
      const seen: string[] = [];
      return {
        lookups: seen,
        registry: {
          getRegistration: async (clientId: string) => {
            seen.push(clientId);
            return registrations.find((entry) => entry.clientId === clientId) ?? null;
          },
          listRegistrations: async () => registrations,
        },
      };
    })();
    let now = 0;
    const directory = registeredClients(registry, { now: () => now, ttlMs: 1000 });

    // Act & Assess
    expect(await directory.find('m2m-client-test-new')).toBeUndefined();
    registrations.push({
      ...registration('m2m-client-test-new', ['orders-api']),
      policy: { expectedConsumers: ['orders-api'], leak: { deadlineSeconds: 60 } },
    });
    const expected = {
      kind: 'm2m',
      policy: { expectedConsumers: ['orders-api'], leak: { deadlineSeconds: 60 } },
    };
    expect(await directory.find('m2m-client-test-new')).toEqual(expected);
    now = 999;
    expect(await directory.find('m2m-client-test-new')).toEqual(expected);
    now = 1000;
    await directory.find('m2m-client-test-new');
    expect(lookups).toEqual(['m2m-client-test-new', 'm2m-client-test-new', 'm2m-client-test-new']);
  });
});
