import { describe, expect, it } from 'vitest';
import { registeredClients } from '#core/clientDirectory.js';
import type { ClientRegistration, RegistryPort } from '#core/registry.js';

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

/** A registry holding `registrations` (the array, as it changes), counting the lookups it answers. */
function registryOf(registrations: ClientRegistration[]) {
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

describe('Function: registeredClients', () => {
  it('reads a found client once per TTL, and a missing one every time (a client applied a moment ago is found)', async () => {
    // Prepare
    const registrations: ClientRegistration[] = [];
    const { registry, lookups } = registryOf(registrations);
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

  it('lists the ids past an unreadable registry item, telling who asked to be told', async () => {
    // Prepare: a registry with one item that cannot be read
    const told: string[] = [];
    const registry: Pick<RegistryPort, 'getRegistration' | 'listRegistrations'> = {
      getRegistration: async () => null,
      listRegistrations: async (options) => {
        const error = new Error('malformed');
        if (options?.onUnreadable === undefined) throw error;
        options.onUnreadable('REGISTRY#/CLIENT#m2m-client-test-edited', error);
        return [registration('m2m-client-test-readable', [])];
      },
    };

    // Act
    const ids = await registeredClients(registry, { onUnreadable: (key) => told.push(key) }).ids();

    // Assess
    expect(ids).toEqual(['m2m-client-test-readable']);
    expect(told).toEqual(['REGISTRY#/CLIENT#m2m-client-test-edited']);
  });
});
