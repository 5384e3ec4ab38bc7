import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StytchApiError, StytchPublicClientError } from '#adapters/stytch/errors.js';
import { StytchClient } from '#adapters/stytch/StytchClient.js';
import { FakeStytch, recordingSleep, stytchError, wireConnectedApp } from './fakeStytch.js';

const PROJECT_ID = 'project-test-apps';
const PROJECT_SECRET = 'project-secret-apps';

describe('Class: ConnectedApps', () => {
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

  it('returns an app from get, with the id URL-encoded and project auth', async () => {
    // Prepare
    fake.enqueue({ json: { connected_app: wireConnectedApp() } });

    // Act
    const app = await stytch.connectedApps.get('connected-app/1');

    // Assess
    expect(fake.requests[0]).toMatchObject({
      method: 'GET',
      url: '/v1/connected_apps/clients/connected-app%2F1',
    });
    expect(fake.requests[0]?.headers.authorization).toMatch(/^Basic /);
    expect(app).toEqual({
      clientId: 'connected-app-test-1',
      clientName: 'portal',
      clientDescription: 'customer portal',
      clientType: 'first_party',
      isPublic: false,
      status: 'active',
      fullAccessAllowed: false,
      redirectUrls: ['https://example.com/cb'],
      postLogoutRedirectUrls: [],
      accessTokenExpiryMinutes: 60,
      accessTokenCustomAudience: null,
      accessTokenTemplateContent: '',
      bypassConsentForOfflineAccess: false,
      creationMethod: 'api',
      logoUrl: null,
      clientIdMetadataUrl: null,
      clientSecretLastFour: 'abcd',
      nextClientSecretLastFour: null,
    });
  });

  it('returns an app that has only the public-variant fields, tolerating the rest missing', async () => {
    // Prepare
    fake.enqueue({
      json: {
        connected_app: {
          client_id: 'p1',
          client_name: 'spa',
          client_description: '',
          client_type: 'third_party_public',
        },
      },
    });

    // Act
    const app = await stytch.connectedApps.get('p1');

    // Assess
    expect(app).toMatchObject({
      clientId: 'p1',
      isPublic: true,
      status: null,
      redirectUrls: [],
      clientSecretLastFour: null,
    });
  });

  it('returns every app of every page from searchAll', async () => {
    // Prepare
    fake.enqueue(
      {
        json: {
          connected_apps: [wireConnectedApp({ client_id: 'a' })],
          results_metadata: { total: 2, next_cursor: 'n' },
        },
      },
      {
        json: {
          connected_apps: [wireConnectedApp({ client_id: 'b' })],
          results_metadata: { total: 2, next_cursor: null },
        },
      },
    );

    // Act
    const ids: string[] = [];
    for await (const app of stytch.connectedApps.searchAll({ limit: 1 })) ids.push(app.clientId);

    // Assess
    expect(ids).toEqual(['a', 'b']);
    expect(fake.requests.map((r) => r.url)).toEqual([
      '/v1/connected_apps/clients/search',
      '/v1/connected_apps/clients/search',
    ]);
    expect([fake.jsonBody(0), fake.jsonBody(1)]).toEqual([{ limit: 1 }, { limit: 1, cursor: 'n' }]);
  });

  it('returns the next secret from rotateStart, posting {}', async () => {
    // Prepare
    fake.enqueue({
      json: {
        connected_app: wireConnectedApp({
          next_client_secret: 'app-next-secret-QRST',
          next_client_secret_last_four: 'QRST',
        }),
      },
    });

    // Act
    const started = await stytch.connectedApps.rotateStart('connected-app-test-1');

    // Assess
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      url: '/v1/connected_apps/clients/connected-app-test-1/secrets/rotate/start',
      body: '{}',
    });
    expect(started.nextClientSecret.reveal()).toBe('app-next-secret-QRST');
    expect(started.app.nextClientSecretLastFour).toBe('QRST');
  });

  it.each([
    ['rotateComplete', '/secrets/rotate'],
    ['rotateCancel', '/secrets/rotate/cancel'],
  ] as const)('returns the app from %s, posting {} to %s', async (method, suffix) => {
    // Prepare
    fake.enqueue({ json: { connected_app: wireConnectedApp() } });

    // Act
    const app = await stytch.connectedApps[method]('connected-app-test-1');

    // Assess
    expect(fake.requests[0]).toMatchObject({
      url: `/v1/connected_apps/clients/connected-app-test-1${suffix}`,
      body: '{}',
    });
    expect(app.clientId).toBe('connected-app-test-1');
  });

  it('throws StytchPublicClientError when Stytch answers public_connected_apps_do_not_have_secrets', async () => {
    // Prepare
    fake.enqueue(stytchError(400, 'public_connected_apps_do_not_have_secrets'));

    // Act
    const error = await stytch.connectedApps.rotateStart('public-app-1').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StytchPublicClientError);
    expect(error).toBeInstanceOf(StytchApiError);
    expect(error).toMatchObject({
      name: 'StytchPublicClientError',
      clientId: 'public-app-1',
      statusCode: 400,
      errorType: 'public_connected_apps_do_not_have_secrets',
      retryable: false,
    });
    expect((error as Error).message).toContain('public-app-1');
    expect((error as Error).message).toContain('public clients have no secret');
    expect((error as Error).cause).toBeInstanceOf(StytchApiError);
  });

  it('throws StytchPublicClientError without a request when a read already showed the app is public', async () => {
    // Prepare
    fake.enqueue({
      json: {
        connected_app: wireConnectedApp({ client_id: 'public-app-2', client_type: 'first_party_public' }),
      },
    });
    await stytch.connectedApps.get('public-app-2');

    // Act
    const errors = await Promise.all(
      (['rotateStart', 'rotateComplete', 'rotateCancel'] as const).map((m) =>
        stytch.connectedApps[m]('public-app-2').catch((e: unknown) => e),
      ),
    );

    // Assess
    for (const error of errors) {
      expect(error).toBeInstanceOf(StytchPublicClientError);
      expect((error as Error).message).toContain('public-app-2');
    }
    expect(fake.requests).toHaveLength(1);
  });

  it('passes other rotation errors through unchanged', async () => {
    // Prepare
    fake.enqueue(stytchError(400, 'connected_app_not_rotating_secret'));

    // Act
    const error = await stytch.connectedApps.rotateComplete('connected-app-test-1').catch((e: unknown) => e);

    // Assess
    expect(error).not.toBeInstanceOf(StytchPublicClientError);
    expect(error).toMatchObject({ name: 'StytchApiError', errorType: 'connected_app_not_rotating_secret' });
  });
});
