import stytch, { ClientError, StytchError } from 'stytch';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';

// The official Node SDK, unmodified, as an outside client: everything here goes over HTTP exactly
// as it would to test.stytch.com. The SDK warns once per client about the non-standard env.

type SdkClient = InstanceType<typeof stytch.Client>;

let emulator: StytchEmulator;
let client: SdkClient;

function sdk(secret = emulator.projectSecret): SdkClient {
  return new stytch.Client({ project_id: emulator.projectId, secret, env: `${emulator.url}/` });
}

/** Resolves to the StytchError a call failed with (fails the test if it succeeded). */
async function stytchError(call: Promise<unknown>): Promise<StytchError> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof StytchError)) throw new Error(`expected a StytchError, got ${String(error)}`);
  return error;
}

async function createClient(scopes = ['read:users', 'write:users'], name = 'billing-service') {
  const { m2m_client } = await client.m2m.clients.create({ scopes, client_name: name });
  return m2m_client;
}

async function mint(clientId: string, clientSecret: string, scopes?: string[]) {
  return client.m2m.token({
    client_id: clientId,
    client_secret: clientSecret,
    ...(scopes ? { scopes } : {}),
  });
}

beforeAll(async () => {
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  emulator = await StytchEmulator.start();
  client = sdk();
});

afterAll(async () => {
  await emulator.stop();
  vi.restoreAllMocks();
});

afterEach(() => {
  emulator.faults.clear();
});

describe('Stytch emulator with the official Node SDK: M2M clients', () => {
  it('creates a client with a one-time 44-character secret and every field the SDKs require', async () => {
    // Act
    const response = await client.m2m.clients.create({
      scopes: ['read:users'],
      client_name: 'orders',
      trusted_metadata: { team: 'payments' },
    });

    // Assess
    expect(response.status_code).toBe(200);
    expect(response.request_id).toMatch(/^request-id-test-[0-9a-f-]{36}$/);
    const created = response.m2m_client;
    expect(created.client_id).toMatch(/^m2m-client-test-[0-9a-f-]{36}$/);
    expect(created.client_secret).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(created).toEqual({
      client_id: created.client_id,
      client_secret: created.client_secret,
      client_name: 'orders',
      client_description: '',
      status: 'active',
      scopes: ['read:users'],
      client_secret_last_four: created.client_secret.slice(-4),
      next_client_secret_last_four: null,
      trusted_metadata: { team: 'payments' },
    });
  });

  it('gets a client without its secret', async () => {
    // Prepare
    const created = await createClient();

    // Act
    const { m2m_client } = await client.m2m.clients.get({ client_id: created.client_id });

    // Assess
    expect(m2m_client.client_id).toBe(created.client_id);
    expect(m2m_client).not.toHaveProperty('client_secret');
    expect(m2m_client.client_secret_last_four).toBe(created.client_secret.slice(-4));
  });

  it('searches with a filter and pages through the results with the cursor', async () => {
    // Prepare
    const scope = `read:search-${Date.now()}`;
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1)
      ids.push((await createClient([scope], `search-${index}`)).client_id);
    const query = {
      operator: 'AND' as const,
      operands: [{ filter_name: 'scopes' as const, filter_value: [scope] }],
    };

    // Act
    const seen: string[] = [];
    const totals: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.m2m.clients.search({ limit: 2, query, ...(cursor ? { cursor } : {}) });
      seen.push(...page.m2m_clients.map((found) => found.client_id));
      totals.push(page.results_metadata.total);
      cursor = page.results_metadata.next_cursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined);

    // Assess
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
    expect(totals).toEqual([5, 5, 5]);
  });

  it('updates only the given fields and merges trusted_metadata at the top level', async () => {
    // Prepare
    const { m2m_client: created } = await client.m2m.clients.create({
      scopes: ['read:users'],
      client_name: 'before',
      client_description: 'kept',
      trusted_metadata: { a: 1, b: 2 },
    });

    // Act
    const { m2m_client: updated } = await client.m2m.clients.update({
      client_id: created.client_id,
      client_name: 'after',
      scopes: ['read:users', 'write:users'],
      trusted_metadata: { b: null, c: 3 },
    });

    // Assess
    expect(updated).toMatchObject({
      client_name: 'after',
      client_description: 'kept',
      status: 'active',
      scopes: ['read:users', 'write:users'],
      trusted_metadata: { a: 1, c: 3 },
    });
  });

  it('deletes a client; afterwards it is not found and cannot mint', async () => {
    // Prepare
    const created = await createClient();

    // Act
    const deleted = await client.m2m.clients.delete({ client_id: created.client_id });

    // Assess
    expect(deleted).toEqual({
      request_id: expect.any(String),
      client_id: created.client_id,
      status_code: 200,
    });
    const notFound = await stytchError(client.m2m.clients.get({ client_id: created.client_id }));
    expect(notFound.status_code).toBe(404);
    expect(notFound.error_type).toBe('m2m_client_not_found');
    expect(notFound.error_message).toBe('The m2m client requested could not be found.');
    const refused = await stytchError(mint(created.client_id, created.client_secret));
    expect(refused.error_type).toBe('invalid_client');
  });

  it('refuses a wrong project secret with 401 unauthorized_credentials', async () => {
    // Act
    const error = await stytchError(sdk('wrong-secret').m2m.clients.search({}));

    // Assess
    expect(error.status_code).toBe(401);
    expect(error.error_type).toBe('unauthorized_credentials');
    expect(error.error_message).toBe('Unauthorized credentials.');
  });

  it('refuses a deactivated client at the token endpoint until it is reactivated', async () => {
    // Prepare
    const created = await createClient();
    await client.m2m.clients.update({ client_id: created.client_id, status: 'inactive' });

    // Act
    const refused = await stytchError(mint(created.client_id, created.client_secret));
    await client.m2m.clients.update({ client_id: created.client_id, status: 'active' });
    const minted = await mint(created.client_id, created.client_secret);

    // Assess
    expect(refused.status_code).toBe(400);
    expect(refused.error_type).toBe('invalid_client');
    expect(minted.access_token).toBeTruthy();
  });
});

describe('Stytch emulator with the official Node SDK: tokens', () => {
  it('mints a bearer token that m2m.authenticateToken verifies against the JWKS', async () => {
    // Prepare
    const created = await createClient();

    // Act
    const token = await mint(created.client_id, created.client_secret);
    const verified = await client.m2m.authenticateToken({
      access_token: token.access_token,
      required_scopes: ['read:users'],
    });

    // Assess
    expect(token).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 3600,
      request_id: expect.stringMatching(/^request-id-test-/),
      status_code: 200,
    });
    expect(verified).toEqual({
      client_id: created.client_id,
      scopes: ['read:users', 'write:users'],
      custom_claims: {},
    });
  });

  it('narrows a token to the requested scopes, and refuses a scope the client lacks', async () => {
    // Prepare
    const created = await createClient();

    // Act
    const narrowed = await mint(created.client_id, created.client_secret, ['read:users']);
    const refused = await stytchError(mint(created.client_id, created.client_secret, ['admin:all']));

    // Assess
    const verified = await client.m2m.authenticateToken({ access_token: narrowed.access_token });
    expect(verified.scopes).toEqual(['read:users']);
    expect(refused.status_code).toBe(400);
    expect(refused.error_type).toBe('invalid_scope');
  });

  it('fails authenticateToken with missing_scopes when a required scope is not in the token', async () => {
    // Prepare
    const created = await createClient(['read:users']);
    const token = await mint(created.client_id, created.client_secret);

    // Act
    const error = await client.m2m
      .authenticateToken({ access_token: token.access_token, required_scopes: ['write:users'] })
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );

    // Assess
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).code).toBe('missing_scopes');
  });

  it('answers bad client credentials with a 400 invalid_client StytchError', async () => {
    // Prepare
    const created = await createClient();

    // Act
    const wrongSecret = await stytchError(mint(created.client_id, 'not-the-secret'));
    const unknownClient = await stytchError(mint('m2m-client-test-unknown', created.client_secret));

    // Assess
    for (const error of [wrongSecret, unknownClient]) {
      expect(error.status_code).toBe(400);
      expect(error.error_type).toBe('invalid_client');
      expect(error.request_id).toMatch(/^request-id-test-/);
    }
  });

  it('keeps verifying tokens signed before a signing-key rotation', async () => {
    // Prepare: an emulator of its own, since SDK clients cache the JWKS they fetched.
    const own = await StytchEmulator.start();
    const api = () =>
      new stytch.Client({ project_id: own.projectId, secret: own.projectSecret, env: `${own.url}/` });
    try {
      const { m2m_client: created } = await api().m2m.clients.create({ scopes: ['read:users'] });
      const credentials = { client_id: created.client_id, client_secret: created.client_secret };
      const before = await api().m2m.token(credentials);

      // Act
      own.rotateSigningKey();
      const after = await api().m2m.token(credentials);
      const verifier = api();

      // Assess
      await expect(
        verifier.m2m.authenticateToken({ access_token: before.access_token }),
      ).resolves.toBeDefined();
      await expect(
        verifier.m2m.authenticateToken({ access_token: after.access_token }),
      ).resolves.toBeDefined();
    } finally {
      await own.stop();
    }
  });
});

describe('Stytch emulator with the official Node SDK: secret rotation', () => {
  it('accepts both secrets after start, only the new one after complete', async () => {
    // Prepare
    const created = await createClient();

    // Act
    const { m2m_client: started } = await client.m2m.clients.secrets.rotateStart({
      client_id: created.client_id,
    });
    const withOld = await mint(created.client_id, created.client_secret);
    const withNext = await mint(created.client_id, started.next_client_secret);
    const { m2m_client: completed } = await client.m2m.clients.secrets.rotate({
      client_id: created.client_id,
    });

    // Assess
    expect(started.next_client_secret).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(started.client_secret_last_four).toBe(created.client_secret.slice(-4));
    expect(started.next_client_secret_last_four).toBe(started.next_client_secret.slice(-4));
    expect(withOld.access_token).toBeTruthy();
    expect(withNext.access_token).toBeTruthy();
    expect(completed.client_secret_last_four).toBe(started.next_client_secret.slice(-4));
    expect(completed.next_client_secret_last_four).toBeNull();
    expect(completed).not.toHaveProperty('next_client_secret');
    expect((await stytchError(mint(created.client_id, created.client_secret))).error_type).toBe(
      'invalid_client',
    );
    await expect(mint(created.client_id, started.next_client_secret)).resolves.toBeDefined();
  });

  it('accepts only the old secret after cancel', async () => {
    // Prepare
    const created = await createClient();
    const { m2m_client: started } = await client.m2m.clients.secrets.rotateStart({
      client_id: created.client_id,
    });

    // Act
    const { m2m_client: cancelled } = await client.m2m.clients.secrets.rotateCancel({
      client_id: created.client_id,
    });

    // Assess
    expect(cancelled.client_secret_last_four).toBe(created.client_secret.slice(-4));
    expect(cancelled.next_client_secret_last_four).toBeNull();
    expect((await stytchError(mint(created.client_id, started.next_client_secret))).error_type).toBe(
      'invalid_client',
    );
    await expect(mint(created.client_id, created.client_secret)).resolves.toBeDefined();
  });

  it('refuses a second start with m2m_client_already_rotating_secret and changes nothing', async () => {
    // Prepare
    const created = await createClient();
    const { m2m_client: started } = await client.m2m.clients.secrets.rotateStart({
      client_id: created.client_id,
    });

    // Act
    const error = await stytchError(client.m2m.clients.secrets.rotateStart({ client_id: created.client_id }));

    // Assess
    expect(error.status_code).toBe(400);
    expect(error.error_type).toBe('m2m_client_already_rotating_secret');
    await expect(mint(created.client_id, started.next_client_secret)).resolves.toBeDefined();
  });

  it('refuses complete and cancel with nothing pending with m2m_client_not_rotating_secret', async () => {
    // Prepare
    const created = await createClient();

    // Act
    const complete = await stytchError(client.m2m.clients.secrets.rotate({ client_id: created.client_id }));
    const cancel = await stytchError(
      client.m2m.clients.secrets.rotateCancel({ client_id: created.client_id }),
    );

    // Assess
    for (const error of [complete, cancel]) {
      expect(error.status_code).toBe(400);
      expect(error.error_type).toBe('m2m_client_not_rotating_secret');
    }
  });

  it('answers rotation calls for an unknown client with 404 m2m_client_not_found', async () => {
    // Act
    const error = await stytchError(
      client.m2m.clients.secrets.rotateStart({ client_id: 'm2m-client-test-none' }),
    );

    // Assess
    expect(error.status_code).toBe(404);
    expect(error.error_type).toBe('m2m_client_not_found');
  });
});

describe('Stytch emulator with the official Node SDK: Connected Apps', () => {
  it('creates a confidential app with a secret and rotates it: start, complete, cancel', async () => {
    // Prepare
    const { connected_app: app } = await client.connectedApp.clients.create({
      client_type: 'first_party',
      client_name: 'dashboard',
      redirect_urls: ['https://example.com/callback'],
    });

    // Act
    const { connected_app: started } = await client.connectedApp.clients.secrets.rotateStart({
      client_id: app.client_id,
    });
    const again = await stytchError(
      client.connectedApp.clients.secrets.rotateStart({ client_id: app.client_id }),
    );
    const { connected_app: completed } = await client.connectedApp.clients.secrets.rotate({
      client_id: app.client_id,
    });
    await client.connectedApp.clients.secrets.rotateStart({ client_id: app.client_id });
    const { connected_app: cancelled } = await client.connectedApp.clients.secrets.rotateCancel({
      client_id: app.client_id,
    });
    const notRotating = await stytchError(
      client.connectedApp.clients.secrets.rotateCancel({ client_id: app.client_id }),
    );

    // Assess
    expect(app.client_id).toMatch(/^connected-app-test-[0-9a-f-]{36}$/);
    expect(app.client_secret).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(app).toMatchObject({
      client_type: 'first_party',
      client_name: 'dashboard',
      access_token_expiry_minutes: 60,
    });
    expect(started.next_client_secret).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(again.error_type).toBe('connected_app_already_rotating_secret');
    expect(completed.client_secret_last_four).toBe(started.next_client_secret.slice(-4));
    expect(completed.next_client_secret_last_four).toBeNull();
    expect(cancelled.client_secret_last_four).toBe(started.next_client_secret.slice(-4));
    expect(notRotating.error_type).toBe('connected_app_not_rotating_secret');
  });

  it('creates a public app without a secret and refuses to rotate it', async () => {
    // Prepare
    const { connected_app: app } = await client.connectedApp.clients.create({
      client_type: 'third_party_public',
    });

    // Act
    const error = await stytchError(
      client.connectedApp.clients.secrets.rotateStart({ client_id: app.client_id }),
    );

    // Assess
    expect(app).not.toHaveProperty('client_secret');
    expect(app).not.toHaveProperty('client_secret_last_four');
    expect(error.status_code).toBe(400);
    expect(error.error_type).toBe('public_connected_apps_do_not_have_secrets');
  });

  it('gets, updates, searches and deletes apps', async () => {
    // Prepare
    const { connected_app: app } = await client.connectedApp.clients.create({ client_type: 'third_party' });

    // Act
    const { connected_app: updated } = await client.connectedApp.clients.update({
      client_id: app.client_id,
      client_name: 'renamed',
    });
    const { connected_app: fetched } = await client.connectedApp.clients.get({ client_id: app.client_id });
    const found = await client.connectedApp.clients.search({ limit: 1000 });
    await client.connectedApp.clients.delete({ client_id: app.client_id });
    const gone = await stytchError(client.connectedApp.clients.get({ client_id: app.client_id }));

    // Assess
    expect(updated.client_name).toBe('renamed');
    expect(fetched).toMatchObject({
      client_name: 'renamed',
      client_type: 'third_party',
      creation_method: 'api',
    });
    expect(found.connected_apps.map((each) => each.client_id)).toContain(app.client_id);
    expect(gone.status_code).toBe(404);
    expect(gone.error_type).toBe('connected_app_not_found');
  });
});

describe('Stytch emulator with the official Node SDK: seed 002 workflow', () => {
  it('registers a service, mints tokens, and rotates on an incident (complete, then start and cancel)', async () => {
    // register-service
    const service = await createClient(['read:orders'], 'orders-service');
    // mint-token
    const first = await mint(service.client_id, service.client_secret);
    expect((await client.m2m.authenticateToken({ access_token: first.access_token })).client_id).toBe(
      service.client_id,
    );

    // rotate-on-incident: start, the new secret works, complete, the leaked one is rejected.
    const { m2m_client: rotation } = await client.m2m.clients.secrets.rotateStart({
      client_id: service.client_id,
    });
    const withNext = await mint(service.client_id, rotation.next_client_secret);
    expect((await client.m2m.authenticateToken({ access_token: withNext.access_token })).scopes).toEqual([
      'read:orders',
    ]);
    await client.m2m.clients.secrets.rotate({ client_id: service.client_id });
    expect((await stytchError(mint(service.client_id, service.client_secret))).error_type).toBe(
      'invalid_client',
    );
    // Tokens are not revoked by a rotation; they expire.
    await expect(client.m2m.authenticateToken({ access_token: first.access_token })).resolves.toBeDefined();

    // A second rotation that is cancelled: the pending secret is rejected, the current one stays.
    const { m2m_client: second } = await client.m2m.clients.secrets.rotateStart({
      client_id: service.client_id,
    });
    await client.m2m.clients.secrets.rotateCancel({ client_id: service.client_id });
    expect((await stytchError(mint(service.client_id, second.next_client_secret))).error_type).toBe(
      'invalid_client',
    );
    await expect(mint(service.client_id, rotation.next_client_secret)).resolves.toBeDefined();
    const { m2m_client: final } = await client.m2m.clients.get({ client_id: service.client_id });
    expect(final.client_secret_last_four).toBe(rotation.next_client_secret.slice(-4));
    expect(final.next_client_secret_last_four).toBeNull();
  });
});

describe('Stytch emulator: no secret leaks', () => {
  it('keeps every secret and token out of the request log and everything it prints', async () => {
    // Prepare: capture everything written anywhere while a second emulator runs a full workflow.
    const printed: string[] = [];
    const capture = (chunk: unknown): boolean => {
      printed.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
      ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
        vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          printed.push(args.map(String).join(' '));
        }),
      ),
    ];
    const own = await StytchEmulator.start({ logger: (line) => printed.push(line) });
    const api = new stytch.Client({
      project_id: own.projectId,
      secret: own.projectSecret,
      env: `${own.url}/`,
    });
    const sensitive: string[] = [];

    // Act
    try {
      const { m2m_client: created } = await api.m2m.clients.create({ scopes: ['read:users'] });
      sensitive.push(created.client_secret);
      sensitive.push(
        (await api.m2m.token({ client_id: created.client_id, client_secret: created.client_secret }))
          .access_token,
      );
      const { m2m_client: started } = await api.m2m.clients.secrets.rotateStart({
        client_id: created.client_id,
      });
      sensitive.push(started.next_client_secret);
      sensitive.push(
        (await api.m2m.token({ client_id: created.client_id, client_secret: started.next_client_secret }))
          .access_token,
      );
      await api.m2m.clients.secrets.rotate({ client_id: created.client_id });
      await api.m2m
        .token({ client_id: created.client_id, client_secret: created.client_secret })
        .catch(() => undefined);
      const { m2m_client: again } = await api.m2m.clients.secrets.rotateStart({
        client_id: created.client_id,
      });
      sensitive.push(again.next_client_secret);
      await api.m2m.clients.secrets.rotateCancel({ client_id: created.client_id });
      const { m2m_client: custom } = await api.m2m.clients.create({
        scopes: [],
        client_secret: 'custom-secret-1234',
      });
      sensitive.push(custom.client_secret);
      const { connected_app: app } = await api.connectedApp.clients.create({ client_type: 'first_party' });
      sensitive.push(app.client_secret ?? 'missing');
      const { connected_app: appNext } = await api.connectedApp.clients.secrets.rotateStart({
        client_id: app.client_id,
      });
      sensitive.push(appNext.next_client_secret);
      own.faults.dropResponseNext('m2m.secrets.rotateStart');
      await api.m2m.clients.secrets.rotateStart({ client_id: custom.client_id }).catch(() => undefined);
      await api.m2m.authenticateToken({ access_token: sensitive[1] ?? '' });
    } finally {
      await own.stop();
      for (const spy of spies) spy.mockRestore();
    }

    // Assess
    expect(sensitive).toHaveLength(8);
    const haystack = JSON.stringify(own.requestLog()) + printed.join('\n');
    expect(own.requestLog().length).toBeGreaterThan(10);
    for (const value of sensitive) {
      expect(value.length).toBeGreaterThan(8);
      expect(haystack.includes(value)).toBe(false);
      // Not even the JWT's signature or payload segments, in case a token were logged in parts.
      for (const segment of value.split('.').filter((part) => part.length > 20)) {
        expect(haystack.includes(segment)).toBe(false);
      }
    }
  });
});
