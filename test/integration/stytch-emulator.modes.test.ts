import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isClientAuthRefusal,
  StytchApiError,
  StytchClient,
  StytchRateLimitedError,
} from '#adapters/stytch/index.js';
import { StytchRotationAdapter } from '#adapters/stytch/rotation.js';
import type { ClientRef } from '#core/ports.js';
import { Secret } from '#core/secret.js';
import { StytchEmulator, type StytchEmulatorOptions } from '#sandbox/stytch-emulator/index.js';

// The emulator's behaviour modes, set over HTTP through the admin API as a harness in another
// process would, and met by our own Stytch client and rotation adapter over loopback.

const running: { emulator: StytchEmulator; stytch: StytchClient }[] = [];

afterEach(async () => {
  for (const { emulator, stytch } of running.splice(0)) {
    await stytch.close();
    await emulator.stop();
  }
});

async function start(options: StytchEmulatorOptions = {}) {
  const emulator = await StytchEmulator.start(options);
  const stytch = new StytchClient({
    projectId: emulator.projectId,
    secret: emulator.projectSecret,
    baseUrl: emulator.url,
  });
  running.push({ emulator, stytch });
  return { emulator, stytch, adapter: new StytchRotationAdapter({ stytch }) };
}

/** Sets modes through the admin API; answers the HTTP status and the modes now in effect. */
async function putModes(
  emulator: StytchEmulator,
  modes: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await request(`${emulator.url}/__emulator/modes`, {
    method: 'PUT',
    headers: {
      authorization: `Basic ${Buffer.from(`${emulator.projectId}:${emulator.projectSecret}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(modes),
  });
  return { status: response.statusCode, body: await response.body.json() };
}

async function m2mClient(stytch: StytchClient): Promise<{ client: ClientRef; secret: Secret }> {
  const created = await stytch.m2m.create({ scopes: ['read:invoices'] });
  return { client: { clientId: created.client.clientId, kind: 'm2m' }, secret: created.clientSecret };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('Stytch emulator modes over loopback', () => {
  it('fixed-window rate limit: our client sees a throttled 429 without Retry-After once its retries run out', async () => {
    // Prepare: a frozen clock, so the whole test is inside one window.
    const { emulator, stytch } = await start({ now: () => Date.parse('2030-01-01T00:00:00Z') });
    const { client, secret } = await m2mClient(stytch);
    const set = await putModes(emulator, {
      fixedWindowRateLimit: { management: { requests: 1, windowMs: 3_600_000 } },
    });
    emulator.clearRequestLog();

    // Act
    const state = await stytch.m2m.get(client.clientId);
    const error = await rejection(stytch.m2m.get(client.clientId));
    const token = await stytch.token({ clientId: client.clientId, clientSecret: secret });

    // Assess
    expect(set.status).toBe(200);
    expect(state.clientId).toBe(client.clientId);
    expect(error).toBeInstanceOf(StytchRateLimitedError);
    expect(error).toMatchObject({
      statusCode: 429,
      errorType: 'too_many_requests',
      retryAfterMs: null,
      retryable: true,
      throttled: true,
    });
    const limited = emulator.requestLog().filter((entry) => entry.fault === 'rate_limited');
    // Our client's three attempts, all refused; the token endpoint is another group.
    expect(limited.map((entry) => entry.route)).toEqual([
      'm2m.clients.get',
      'm2m.clients.get',
      'm2m.clients.get',
    ]);
    expect(token.accessToken).toBeInstanceOf(Secret);
  });

  it('another OAuth refusal: a wrong secret is a client-authentication refusal, and the old secret proves dead', async () => {
    // Prepare
    const { emulator, stytch, adapter } = await start();
    const { client, secret } = await m2mClient(stytch);
    const set = await putModes(emulator, { tokenRefusal: { error: 'invalid_grant', status: 401 } });
    const { nextSecret } = await adapter.startRotation(client);
    await adapter.selfTest(client, nextSecret);
    await adapter.completeRotation(client);

    // Act
    const refused = await rejection(stytch.token({ clientId: client.clientId, clientSecret: secret }));
    const oldAlive = await adapter.authenticates(client, secret);

    // Assess
    expect(set.status).toBe(200);
    expect(refused).toBeInstanceOf(StytchApiError);
    expect(refused).toMatchObject({ statusCode: 401, errorType: 'invalid_grant', retryable: false });
    const { statusCode, errorType } = refused as StytchApiError;
    expect(isClientAuthRefusal(statusCode, errorType)).toBe(true);
    expect(oldAlive).toBe(false);
  });

  it('delayed consistency: the adapter waits out a lagging token endpoint on start, complete and cancel', async () => {
    // Prepare
    const { emulator, stytch, adapter } = await start();
    const { client, secret } = await m2mClient(stytch);
    const set = await putModes(emulator, {
      consistencyDelay: { startMs: 300, completeMs: 300, cancelMs: 300 },
    });

    // Act
    const first = await adapter.startRotation(client);
    const nextAtOnce = await adapter.getSecretState(client);
    await adapter.selfTest(client, first.nextSecret);
    await adapter.cancelRotation(client);
    const cancelledAlive = await adapter.authenticates(client, first.nextSecret);
    const second = await adapter.startRotation(client);
    await adapter.selfTest(client, second.nextSecret);
    await adapter.completeRotation(client);
    const oldAlive = await adapter.authenticates(client, secret);

    // Assess
    expect(set.status).toBe(200);
    expect(nextAtOnce.nextLastFour).toBe(first.nextSecret.lastFour);
    expect(cancelledAlive).toBe(false);
    expect(oldAlive).toBe(false);
    const token = emulator
      .requestLog()
      .filter((entry) => entry.route === 'oauth2.token')
      .map((entry) => entry.status);
    // The lag was real: the endpoint refused a fresh secret and accepted a replaced one first.
    expect(token.filter((status) => status === 400).length).toBeGreaterThanOrEqual(4);
    expect(token.filter((status) => status === 200).length).toBeGreaterThanOrEqual(4);
  });
});
