import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StytchConfigError, StytchResponseValidationError } from '#adapters/stytch/errors.js';
import { StytchClient } from '#adapters/stytch/StytchClient.js';
import { USER_AGENT } from '#adapters/stytch/transport.js';
import { Secret } from '#core/secret.js';
import { FakeStytch, recordingSleep, wireM2MClient } from './fakeStytch.js';

const PROJECT_ID = 'project-test-11111111-2222-3333-4444-555555555555';
const PROJECT_SECRET = 'secret-test-project-AAAA';
const EXPECTED_AUTH = `Basic ${Buffer.from(`${PROJECT_ID}:${PROJECT_SECRET}`).toString('base64')}`;
const ODD_ID = 'm2m client/1?x=#';
const ODD_ID_ENCODED = 'm2m%20client%2F1%3Fx%3D%23';

describe('Class: M2MClients', () => {
  let fake: FakeStytch;
  let stytch: StytchClient;

  beforeEach(async () => {
    fake = await FakeStytch.start();
    stytch = new StytchClient({
      projectId: PROJECT_ID,
      secret: PROJECT_SECRET,
      baseUrl: fake.url,
      sleep: recordingSleep().sleep,
    });
  });

  afterEach(async () => {
    await stytch.close();
    await fake.stop();
  });

  function expectManagementHeaders(index: number, withBody: boolean): void {
    const headers = fake.requests[index]?.headers;
    expect(headers?.authorization).toBe(EXPECTED_AUTH);
    expect(headers?.['user-agent']).toBe(USER_AGENT);
    expect(headers?.['content-type']).toBe(withBody ? 'application/json' : undefined);
  }

  it('returns the created client and its one-time secret, sending snake_case fields', async () => {
    // Prepare
    fake.enqueue({
      json: {
        status_code: 200,
        request_id: 'r',
        m2m_client: wireM2MClient({ client_secret: 'created-secret-DzJj' }),
      },
    });

    // Act
    const created = await stytch.m2m.create({
      scopes: ['read:users'],
      clientId: 'm2m-client-test-1',
      clientSecret: new Secret('chosen-secret-12345'),
      clientName: 'billing',
      clientDescription: 'billing worker',
      trustedMetadata: { team: 'billing' },
    });

    // Assess
    expect(fake.requests[0]).toMatchObject({ method: 'POST', url: '/v1/m2m/clients' });
    expectManagementHeaders(0, true);
    expect(fake.jsonBody(0)).toEqual({
      scopes: ['read:users'],
      client_id: 'm2m-client-test-1',
      client_secret: 'chosen-secret-12345',
      client_name: 'billing',
      client_description: 'billing worker',
      trusted_metadata: { team: 'billing' },
    });
    expect(created.clientSecret).toBeInstanceOf(Secret);
    expect(created.clientSecret.reveal()).toBe('created-secret-DzJj');
    expect(created.client).toEqual({
      clientId: 'm2m-client-test-1',
      clientName: 'billing',
      clientDescription: 'billing worker',
      status: 'active',
      scopes: ['read:users', 'write:users'],
      clientSecretLastFour: 'DzJj',
      nextClientSecretLastFour: null,
      trustedMetadata: { team: 'billing' },
    });
    expect(JSON.stringify(created)).not.toContain('created-secret-DzJj');
  });

  it('returns a client from get, with the id URL-encoded and no body', async () => {
    // Prepare
    fake.enqueue({ json: { m2m_client: wireM2MClient({ client_name: null, trusted_metadata: undefined }) } });

    // Act
    const client = await stytch.m2m.get(ODD_ID);

    // Assess
    expect(fake.requests[0]).toMatchObject({
      method: 'GET',
      url: `/v1/m2m/clients/${ODD_ID_ENCODED}`,
      body: '',
    });
    expectManagementHeaders(0, false);
    expect(client.clientName).toBe('');
    expect(client.trustedMetadata).toEqual({});
  });

  it('returns a page from search, mapping the query to snake_case', async () => {
    // Prepare
    fake.enqueue({
      json: { m2m_clients: [wireM2MClient()], results_metadata: { total: 7, next_cursor: 'c2' } },
    });

    // Act
    const page = await stytch.m2m.search({
      limit: 1,
      cursor: 'c1',
      query: { operator: 'AND', operands: [{ filterName: 'scopes', filterValue: ['read:users'] }] },
    });

    // Assess
    expect(fake.requests[0]).toMatchObject({ method: 'POST', url: '/v1/m2m/clients/search' });
    expect(fake.jsonBody(0)).toEqual({
      limit: 1,
      cursor: 'c1',
      query: { operator: 'AND', operands: [{ filter_name: 'scopes', filter_value: ['read:users'] }] },
    });
    expect(page.total).toBe(7);
    expect(page.nextCursor).toBe('c2');
    expect(page.clients.map((c) => c.clientId)).toEqual(['m2m-client-test-1']);
  });

  it('returns a null nextCursor for a null, missing or empty cursor', async () => {
    // Prepare
    fake.enqueue(
      { json: { m2m_clients: [], results_metadata: { total: 0, next_cursor: null } } },
      { json: { m2m_clients: [], results_metadata: { total: 0 } } },
      { json: { m2m_clients: [], results_metadata: { total: 0, next_cursor: '' } } },
    );

    // Act
    const pages = [await stytch.m2m.search(), await stytch.m2m.search(), await stytch.m2m.search()];

    // Assess
    expect(pages.map((p) => p.nextCursor)).toEqual([null, null, null]);
    expect(fake.jsonBody(0)).toEqual({});
  });

  it('returns every client of 3 pages from searchAll, following next_cursor', async () => {
    // Prepare
    fake.enqueue(
      {
        json: {
          m2m_clients: [wireM2MClient({ client_id: 'a' })],
          results_metadata: { total: 3, next_cursor: 'p2' },
        },
      },
      {
        json: {
          m2m_clients: [wireM2MClient({ client_id: 'b' })],
          results_metadata: { total: 3, next_cursor: 'p3' },
        },
      },
      {
        json: {
          m2m_clients: [wireM2MClient({ client_id: 'c' })],
          results_metadata: { total: 3, next_cursor: null },
        },
      },
    );

    // Act
    const ids: string[] = [];
    for await (const client of stytch.m2m.searchAll({ limit: 1 })) ids.push(client.clientId);

    // Assess
    expect(ids).toEqual(['a', 'b', 'c']);
    expect([0, 1, 2].map((i) => fake.jsonBody(i))).toEqual([
      { limit: 1 },
      { limit: 1, cursor: 'p2' },
      { limit: 1, cursor: 'p3' },
    ]);
  });

  it('throws from searchAll when a cursor repeats, instead of looping', async () => {
    // Prepare
    fake.respond(() => ({
      json: { m2m_clients: [wireM2MClient()], results_metadata: { total: 9, next_cursor: 'same' } },
    }));

    // Act
    const ids: string[] = [];
    const error = await (async () => {
      for await (const client of stytch.m2m.searchAll()) ids.push(client.clientId);
    })().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StytchResponseValidationError);
    expect((error as StytchResponseValidationError).issues).toEqual([
      'results_metadata.next_cursor: repeated_cursor',
    ]);
    expect(fake.requests).toHaveLength(2);
    expect(ids).toHaveLength(2);
  });

  it('returns the updated client, sending only the fields given', async () => {
    // Prepare
    fake.enqueue({ json: { m2m_client: wireM2MClient({ status: 'inactive' }) } });

    // Act
    const client = await stytch.m2m.update(ODD_ID, { status: 'inactive', trustedMetadata: { tier: null } });

    // Assess
    expect(fake.requests[0]).toMatchObject({ method: 'PUT', url: `/v1/m2m/clients/${ODD_ID_ENCODED}` });
    expectManagementHeaders(0, true);
    expect(fake.jsonBody(0)).toEqual({ status: 'inactive', trusted_metadata: { tier: null } });
    expect(client.status).toBe('inactive');
  });

  it('returns nothing from delete, sending DELETE with the encoded id', async () => {
    // Prepare
    fake.enqueue({ json: { request_id: 'r', client_id: ODD_ID, status_code: 200 } });

    // Act
    const result = await stytch.m2m.delete(ODD_ID);

    // Assess
    expect(result).toBeUndefined();
    expect(fake.requests[0]).toMatchObject({ method: 'DELETE', url: `/v1/m2m/clients/${ODD_ID_ENCODED}` });
    expectManagementHeaders(0, false);
  });

  it('returns the next secret from rotateStart, sending {}', async () => {
    // Prepare
    fake.enqueue({
      json: {
        m2m_client: wireM2MClient({
          next_client_secret: 'next-secret-WXYZ',
          next_client_secret_last_four: 'WXYZ',
        }),
      },
    });

    // Act
    const started = await stytch.m2m.rotateStart(ODD_ID);

    // Assess
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      url: `/v1/m2m/clients/${ODD_ID_ENCODED}/secrets/rotate/start`,
      body: '{}',
    });
    expectManagementHeaders(0, true);
    expect(started.nextClientSecret.reveal()).toBe('next-secret-WXYZ');
    expect(started.client.nextClientSecretLastFour).toBe('WXYZ');
    expect(started.client).not.toHaveProperty('nextClientSecret');
  });

  it.each([
    ['rotateComplete', '/secrets/rotate'],
    ['rotateCancel', '/secrets/rotate/cancel'],
  ] as const)('returns the client from %s, posting {} to %s', async (method, suffix) => {
    // Prepare
    fake.enqueue({ json: { m2m_client: wireM2MClient() } });

    // Act
    const client = await stytch.m2m[method](ODD_ID);

    // Assess
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      url: `/v1/m2m/clients/${ODD_ID_ENCODED}${suffix}`,
      body: '{}',
    });
    expectManagementHeaders(0, true);
    expect(client.clientId).toBe('m2m-client-test-1');
  });

  it('throws a validation error listing paths and codes, without values, for a bad shape', async () => {
    // Prepare
    fake.enqueue({
      json: { m2m_client: wireM2MClient({ status: 'suspended-VALUE', scopes: 'read:users' }) },
    });

    // Act
    const error = await stytch.m2m.get('x').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StytchResponseValidationError);
    expect(error).toMatchObject({ retryable: false, statusCode: 200 });
    expect((error as StytchResponseValidationError).issues).toEqual([
      'm2m_client.status: invalid_value',
      'm2m_client.scopes: invalid_type',
    ]);
    expect((error as Error).message).not.toContain('suspended-VALUE');
  });

  it('throws a validation error for a 2xx body that is not JSON', async () => {
    // Prepare
    fake.enqueue({ status: 200, body: '<html>ok</html>' });

    // Act
    const error = await stytch.m2m.get('x').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StytchResponseValidationError);
    expect((error as StytchResponseValidationError).issues).toEqual(['(body): invalid_json']);
  });

  it('throws a config error for an empty client id without sending anything', async () => {
    // Act
    const error = await stytch.m2m.rotateStart('').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StytchConfigError);
    expect(fake.requests).toHaveLength(0);
  });
});
