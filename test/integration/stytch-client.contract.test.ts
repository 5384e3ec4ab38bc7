import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isClientAuthRefusal,
  StytchApiError,
  StytchClient,
  type StytchClientOptions,
  StytchPublicClientError,
} from '#adapters/stytch/index.js';
import type { Secret } from '#core/secret.js';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';

/**
 * The contract of our Stytch client, written once and run against every Stytch we can reach:
 * the emulator always, and a real Stytch test project when STYTCH_PROJECT_ID and STYTCH_SECRET
 * are set. If the emulator and real Stytch ever disagree, this suite is where it shows.
 */
interface ContractTarget {
  readonly options: StytchClientOptions;
  readonly cleanup: () => Promise<void>;
}

const REAL_PROJECT_ID = process.env.STYTCH_PROJECT_ID;
const REAL_SECRET = process.env.STYTCH_SECRET;
const realStytchConfigured = Boolean(REAL_PROJECT_ID && REAL_SECRET);

function defineContract(label: string, connect: () => Promise<ContractTarget>): void {
  describe(`Stytch client contract: ${label}`, () => {
    let target: ContractTarget;
    let stytch: StytchClient;
    const createdClientIds: string[] = [];
    const runTag = `contract-${Date.now().toString(36)}`;

    beforeAll(async () => {
      target = await connect();
      stytch = new StytchClient(target.options);
    });

    afterAll(async () => {
      // Leave a real project as we found it.
      for (const clientId of createdClientIds) {
        await stytch.m2m.delete(clientId).catch(() => undefined);
      }
      await stytch?.close();
      await target?.cleanup();
    });

    async function createClient(scopes = ['read:invoices', 'write:invoices']) {
      const created = await stytch.m2m.create({ scopes, clientName: `${runTag}-${createdClientIds.length}` });
      createdClientIds.push(created.client.clientId);
      return created;
    }

    async function mintsWith(clientId: string, secret: Secret): Promise<boolean> {
      try {
        await stytch.token({ clientId, clientSecret: secret });
        return true;
      } catch (error) {
        // Real Stytch's refusal value is unconfirmed (stytch-api.md §12): any refusal counts.
        if (error instanceof StytchApiError && isClientAuthRefusal(error.statusCode, error.errorType))
          return false;
        throw error;
      }
    }

    it('creates a client and shows its secret once, then gets it without the secret', async () => {
      // Act
      const created = await createClient();
      const fetched = await stytch.m2m.get(created.client.clientId);

      // Assess
      expect(created.clientSecret.length).toBeGreaterThanOrEqual(8);
      expect(created.client.clientSecretLastFour).toBe(created.clientSecret.lastFour);
      expect(created.client.status).toBe('active');
      expect(created.client.nextClientSecretLastFour).toBeNull();
      expect(fetched).toEqual(created.client);
      expect(JSON.stringify(fetched)).not.toContain(created.clientSecret.reveal());
    });

    it('finds clients by search across pages', async () => {
      // Prepare
      const a = await createClient();
      const b = await createClient();

      // Act
      const found: string[] = [];
      for await (const client of stytch.m2m.searchAll({
        limit: 1,
        query: {
          operator: 'OR',
          operands: [{ filterName: 'client_id', filterValue: [a.client.clientId, b.client.clientId] }],
        },
      })) {
        found.push(client.clientId);
      }

      // Assess
      expect(found.sort()).toEqual([a.client.clientId, b.client.clientId].sort());
    });

    it('updates only the given fields and merges trusted metadata at the top level', async () => {
      // Prepare
      const { client } = await createClient();
      await stytch.m2m.update(client.clientId, { trustedMetadata: { team: 'billing', tier: 1 } });

      // Act
      const updated = await stytch.m2m.update(client.clientId, {
        clientDescription: 'invoices worker',
        trustedMetadata: { tier: 2 },
      });

      // Assess
      expect(updated.clientName).toBe(client.clientName);
      expect(updated.clientDescription).toBe('invoices worker');
      expect(updated.trustedMetadata).toEqual({ team: 'billing', tier: 2 });
    });

    it('mints a token whose claims verify against the project JWKS', async () => {
      // Prepare
      const { client, clientSecret } = await createClient();

      // Act
      const token = await stytch.token({
        clientId: client.clientId,
        clientSecret,
        scopes: ['read:invoices'],
      });
      const claims = await stytch.verifyToken(token.accessToken, { requiredScopes: ['read:invoices'] });

      // Assess
      expect(token.scope).toEqual(['read:invoices']);
      expect(token.expiresAt.getTime() - Date.now()).toBeGreaterThan(3500_000);
      expect(claims.clientId).toBe(client.clientId);
      expect(claims.scopes).toEqual(['read:invoices']);
      await expect(
        stytch.verifyToken(token.accessToken, { requiredScopes: ['write:invoices'] }),
      ).rejects.toMatchObject({
        name: 'StytchTokenVerificationError',
        reason: 'missing_scopes',
      });
    });

    it('rotates: both secrets work while pending, only the new one after completion', async () => {
      // Prepare
      const { client, clientSecret: oldSecret } = await createClient();

      // Act
      const started = await stytch.m2m.rotateStart(client.clientId);
      const whilePending = [
        await mintsWith(client.clientId, oldSecret),
        await mintsWith(client.clientId, started.nextClientSecret),
      ];
      const completed = await stytch.m2m.rotateComplete(client.clientId);

      // Assess
      expect(started.client.nextClientSecretLastFour).toBe(started.nextClientSecret.lastFour);
      expect(whilePending).toEqual([true, true]);
      expect(completed.clientSecretLastFour).toBe(started.nextClientSecret.lastFour);
      expect(completed.nextClientSecretLastFour).toBeNull();
      expect(await mintsWith(client.clientId, oldSecret)).toBe(false);
      expect(await mintsWith(client.clientId, started.nextClientSecret)).toBe(true);
    });

    it('cancels: the next secret stops working and the current one stays', async () => {
      // Prepare
      const { client, clientSecret } = await createClient();
      const started = await stytch.m2m.rotateStart(client.clientId);

      // Act
      const cancelled = await stytch.m2m.rotateCancel(client.clientId);

      // Assess
      expect(cancelled.nextClientSecretLastFour).toBeNull();
      expect(cancelled.clientSecretLastFour).toBe(clientSecret.lastFour);
      expect(await mintsWith(client.clientId, started.nextClientSecret)).toBe(false);
      expect(await mintsWith(client.clientId, clientSecret)).toBe(true);
    });

    it('refuses a second start and a complete or cancel with nothing pending, as permanent errors', async () => {
      // Prepare
      const { client } = await createClient();

      // Act & Assess
      await expect(stytch.m2m.rotateComplete(client.clientId)).rejects.toMatchObject({
        errorType: 'm2m_client_not_rotating_secret',
        retryable: false,
      });
      await expect(stytch.m2m.rotateCancel(client.clientId)).rejects.toMatchObject({
        errorType: 'm2m_client_not_rotating_secret',
      });
      await stytch.m2m.rotateStart(client.clientId);
      await expect(stytch.m2m.rotateStart(client.clientId)).rejects.toMatchObject({
        errorType: 'm2m_client_already_rotating_secret',
        retryable: false,
      });
      await stytch.m2m.rotateCancel(client.clientId);
    });

    it('stops an inactive client from minting and lets it mint again when reactivated', async () => {
      // Prepare
      const { client, clientSecret } = await createClient();

      // Act
      await stytch.m2m.update(client.clientId, { status: 'inactive' });
      const whileInactive = await mintsWith(client.clientId, clientSecret);
      await stytch.m2m.update(client.clientId, { status: 'active' });

      // Assess
      expect(whileInactive).toBe(false);
      expect(await mintsWith(client.clientId, clientSecret)).toBe(true);
    });

    it('reports an unknown client as a permanent 404', async () => {
      // Act
      const error = await stytch.m2m.get(`m2m-client-test-${crypto.randomUUID()}`).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(StytchApiError);
      expect(error).toMatchObject({ statusCode: 404, errorType: 'm2m_client_not_found', retryable: false });
      expect((error as StytchApiError).requestId).toMatch(/^request-id-/);
    });

    it('deletes a client: it can neither be read nor mint afterwards', async () => {
      // Prepare
      const { client, clientSecret } = await createClient();

      // Act
      await stytch.m2m.delete(client.clientId);

      // Assess
      await expect(stytch.m2m.get(client.clientId)).rejects.toMatchObject({ statusCode: 404 });
      expect(await mintsWith(client.clientId, clientSecret)).toBe(false);
    });

    it('rejects a wrong project secret with 401 unauthorized_credentials', async () => {
      // Prepare
      const wrong = new StytchClient({ ...target.options, secret: 'secret-test-wrong-wrong-wrong' });

      // Act
      const error = await wrong.m2m.search({ limit: 1 }).catch((e: unknown) => e);
      await wrong.close();

      // Assess
      expect(error).toMatchObject({
        statusCode: 401,
        errorType: 'unauthorized_credentials',
        retryable: false,
      });
    });

    it('rotates a confidential Connected App and refuses a public one', async () => {
      // Prepare: the client has no Connected App create (we never create them), so use raw HTTP.
      const confidential = await createConnectedApp(target.options, 'first_party');
      const publicApp = await createConnectedApp(target.options, 'first_party_public');

      try {
        // Act
        const started = await stytch.connectedApps.rotateStart(confidential);
        const cancelled = await stytch.connectedApps.rotateCancel(confidential);
        const again = await stytch.connectedApps.rotateStart(confidential);
        const completed = await stytch.connectedApps.rotateComplete(confidential);
        const publicError = await stytch.connectedApps.rotateStart(publicApp).catch((e: unknown) => e);

        // Assess
        expect(started.app.nextClientSecretLastFour).toBe(started.nextClientSecret.lastFour);
        expect(cancelled.nextClientSecretLastFour).toBeNull();
        expect(completed.clientSecretLastFour).toBe(again.nextClientSecret.lastFour);
        expect(publicError).toBeInstanceOf(StytchPublicClientError);
        expect((publicError as Error).message).toContain(publicApp);
        expect((await stytch.connectedApps.get(confidential)).clientId).toBe(confidential);
      } finally {
        await deleteConnectedApp(target.options, confidential);
        await deleteConnectedApp(target.options, publicApp);
      }
    });
  });
}

/** Connected Apps are created outside the rotator; the tests create them with plain HTTP. */
async function createConnectedApp(options: StytchClientOptions, clientType: string): Promise<string> {
  const response = await fetch(`${options.baseUrl}/v1/connected_apps/clients`, {
    method: 'POST',
    headers: { authorization: basicAuth(options), 'content-type': 'application/json' },
    body: JSON.stringify({ client_type: clientType, client_name: `contract ${clientType}` }),
  });
  const body = (await response.json()) as { connected_app?: { client_id?: string } };
  const clientId = body.connected_app?.client_id;
  if (!response.ok || !clientId)
    throw new Error(`creating a ${clientType} Connected App failed: ${response.status}`);
  return clientId;
}

async function deleteConnectedApp(options: StytchClientOptions, clientId: string): Promise<void> {
  await fetch(`${options.baseUrl}/v1/connected_apps/clients/${encodeURIComponent(clientId)}`, {
    method: 'DELETE',
    headers: { authorization: basicAuth(options) },
  });
}

function basicAuth(options: StytchClientOptions): string {
  const secret = typeof options.secret === 'string' ? options.secret : options.secret.reveal();
  return `Basic ${Buffer.from(`${options.projectId}:${secret}`).toString('base64')}`;
}

defineContract('the emulator', async () => {
  const emulator = await StytchEmulator.start();
  return {
    options: { projectId: emulator.projectId, secret: emulator.projectSecret, baseUrl: emulator.url },
    cleanup: () => emulator.stop(),
  };
});

// Registered only when a real project is configured, so a run without one reports no skipped
// tests, only this line.
if (realStytchConfigured) {
  defineContract(`real Stytch (${REAL_PROJECT_ID})`, async () => ({
    options: {
      projectId: REAL_PROJECT_ID ?? '',
      secret: REAL_SECRET ?? '',
      baseUrl: process.env.STYTCH_BASE_URL ?? 'https://test.stytch.com',
    },
    cleanup: async () => undefined,
  }));
} else {
  console.info(
    'Stytch client contract against a real Stytch test project: not run. ' +
      'Set STYTCH_PROJECT_ID and STYTCH_SECRET (a project-test-… project) to run it.',
  );
}
