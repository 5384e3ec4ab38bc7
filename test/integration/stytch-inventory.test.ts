import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StytchClient } from '#adapters/stytch/StytchClient.js';
import { INVENTORY_PAGE_SIZE, StytchInventory } from '#adapters/stytch/StytchInventory.js';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';

/**
 * Stytch's clients as the fleet sweep reads them, over the emulator with the real StytchClient:
 * pages of 1,000, so the calls grow by one per 1,000 clients, and nothing but searches.
 */
describe('Class: StytchInventory (the Stytch emulator)', () => {
  let emulator: StytchEmulator;
  let stytch: StytchClient;

  beforeAll(async () => {
    emulator = await StytchEmulator.start();
    stytch = new StytchClient({
      projectId: emulator.projectId,
      secret: emulator.projectSecret,
      baseUrl: emulator.url,
    });
  });

  afterAll(async () => {
    await stytch?.close();
    await emulator?.stop();
  });

  it('lists 2,500 M2M clients and a Connected App in 3 + 1 searches of 1,000, keeping ids, kinds and pending rotations only', async () => {
    // Prepare: 2,500 clients, one of them mid-rotation; one confidential Connected App.
    const created: string[] = [];
    for (let i = 0; i < 2500; i += 1) {
      created.push((await stytch.m2m.create({ scopes: [], clientName: `fleet-${i}` })).client.clientId);
    }
    const pending = created[1234] ?? '';
    await stytch.m2m.rotateStart(pending);
    const app = await fetch(`${emulator.url}/v1/connected_apps/clients`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${emulator.projectId}:${emulator.projectSecret}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ client_type: 'first_party', client_name: 'portal' }),
    });
    const appId = ((await app.json()) as { connected_app: { client_id: string } }).connected_app.client_id;
    emulator.clearRequestLog();

    // Act
    const facts = await new StytchInventory({ stytch }).listClients();

    // Assess
    expect(facts).toHaveLength(2501);
    expect(new Set(facts.filter((f) => f.kind === 'm2m').map((f) => f.clientId))).toEqual(new Set(created));
    expect(facts.filter((f) => f.nextSecretPending)).toEqual([
      { clientId: pending, kind: 'm2m', nextSecretPending: true },
    ]);
    expect(facts.filter((f) => f.kind === 'connected_app')).toEqual([
      { clientId: appId, kind: 'connected_app', nextSecretPending: false },
    ]);
    expect(Object.keys(facts[0] ?? {}).sort()).toEqual(['clientId', 'kind', 'nextSecretPending']);
    const routes = emulator.requestLog().map((request) => request.route);
    expect(routes.filter((route) => route === 'm2m.clients.search')).toHaveLength(
      Math.ceil(2500 / INVENTORY_PAGE_SIZE),
    );
    expect(routes.filter((route) => route === 'connectedApps.clients.search')).toHaveLength(1);
    expect(routes).toHaveLength(4);
  }, 120_000);
});
