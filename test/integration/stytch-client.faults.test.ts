import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  StytchApiError,
  StytchClient,
  StytchNetworkError,
  StytchRateLimitedError,
  StytchTimeoutError,
} from '#adapters/stytch/index.js';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';

/**
 * Our client against the emulator's fault injection: the faults later workflow tests rely on
 * (a 503 before commit, a response lost after commit, throttling, a hung response) meet the
 * retry rules the workflow's own Retry/Catch are built on.
 */
describe('Stytch client under injected faults', () => {
  let emulator: StytchEmulator;
  let stytch: StytchClient;
  const sleeps: number[] = [];

  beforeEach(async () => {
    emulator = await StytchEmulator.start({ seed: 7 });
    sleeps.length = 0;
    stytch = new StytchClient({
      projectId: emulator.projectId,
      secret: emulator.projectSecret,
      baseUrl: emulator.url,
      timeoutMs: 500,
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 40, maxRetryAfterMs: 5_000 },
      // Record the waits instead of sleeping them: the assertions are about the schedule.
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    });
  });

  afterEach(async () => {
    await stytch.close();
    await emulator.stop();
  });

  function requestsTo(route: string) {
    return emulator.requestLog().filter((entry) => entry.route === route);
  }

  it('retries a 503 answered before commit and then succeeds', async () => {
    // Prepare
    const { client } = await stytch.m2m.create({ scopes: ['read:x'] });
    emulator.faults.failNext('m2m.secrets.rotateStart', { status: 503, count: 2 });

    // Act
    const started = await stytch.m2m.rotateStart(client.clientId);

    // Assess
    expect(started.nextClientSecret.length).toBeGreaterThan(8);
    expect(requestsTo('m2m.secrets.rotateStart').map((r) => r.status)).toEqual([503, 503, 200]);
    expect(sleeps).toHaveLength(2);
  });

  it('gives up after maxAttempts with a retryable error', async () => {
    // Prepare
    const { client } = await stytch.m2m.create({ scopes: ['read:x'] });
    emulator.faults.failNext('m2m.clients.get', { status: 500, count: 5 });

    // Act
    const error = await stytch.m2m.get(client.clientId).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StytchApiError);
    expect(error).toMatchObject({ statusCode: 500, retryable: true });
    expect(requestsTo('m2m.clients.get')).toHaveLength(3);
  });

  it('does not retry rotate/start whose response was lost after commit, and says the outcome is unknown', async () => {
    // Prepare
    const { client } = await stytch.m2m.create({ scopes: ['read:x'] });
    emulator.faults.dropResponseNext('m2m.secrets.rotateStart');

    // Act
    const error = await stytch.m2m.rotateStart(client.clientId).catch((e: unknown) => e);
    const after = await stytch.m2m.get(client.clientId);

    // Assess: Stytch committed the rotation; the one-time secret is gone, which is exactly
    // the case the workflow's recovery (cancel and start again) exists for.
    expect(error).toBeInstanceOf(StytchNetworkError);
    expect(error).toMatchObject({ retryable: true, outcomeUnknown: true });
    expect(requestsTo('m2m.secrets.rotateStart')).toHaveLength(1);
    expect(after.nextClientSecretLastFour).not.toBeNull();
    await expect(stytch.m2m.rotateStart(client.clientId)).rejects.toMatchObject({
      errorType: 'm2m_client_already_rotating_secret',
    });
  });

  it('retries an idempotent read whose response was lost', async () => {
    // Prepare
    const { client } = await stytch.m2m.create({ scopes: ['read:x'] });
    emulator.faults.dropResponseNext('m2m.clients.get');

    // Act
    const fetched = await stytch.m2m.get(client.clientId);

    // Assess
    expect(fetched.clientId).toBe(client.clientId);
    expect(requestsTo('m2m.clients.get')).toHaveLength(2);
  });

  it('honours Retry-After on 429 from the rate limit', async () => {
    // Prepare
    const { client } = await stytch.m2m.create({ scopes: ['read:x'] });
    emulator.faults.setRateLimit({ requestsPerSecond: 1, burst: 1, retryAfterSeconds: 2 });
    await stytch.m2m.get(client.clientId); // uses the one token in the bucket

    // Act: the emulator's clock does not move (sleep is recorded, not slept), so the second
    // attempt is throttled too and the client stops after maxAttempts.
    const error = await stytch.m2m.get(client.clientId).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StytchRateLimitedError);
    expect(error).toMatchObject({ statusCode: 429, errorType: 'too_many_requests', retryAfterMs: 2_000 });
    expect(sleeps.every((ms) => ms >= 2_000)).toBe(true);
    expect(sleeps).toHaveLength(2);
  });

  it('stops waiting when Retry-After exceeds the cap', async () => {
    // Prepare
    emulator.faults.setRateLimit({ requestsPerSecond: 1, burst: 1, retryAfterSeconds: 60 });
    await stytch.m2m.search({ limit: 1 });

    // Act
    const error = await stytch.m2m.search({ limit: 1 }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StytchRateLimitedError);
    expect(sleeps).toEqual([]);
  });

  it('times out a hung response: retried for a read, not for rotate/start', async () => {
    // Prepare
    const { client } = await stytch.m2m.create({ scopes: ['read:x'] });
    emulator.faults.delayNext('m2m.clients.get', { ms: 2_000, count: 1 });
    emulator.faults.delayNext('m2m.secrets.rotateStart', { ms: 2_000, count: 1 });

    // Act
    const fetched = await stytch.m2m.get(client.clientId);
    const error = await stytch.m2m.rotateStart(client.clientId).catch((e: unknown) => e);

    // Assess
    expect(fetched.clientId).toBe(client.clientId);
    expect(error).toBeInstanceOf(StytchTimeoutError);
    expect(error).toMatchObject({ retryable: true, outcomeUnknown: true });
  });

  it('fails fast on a permanent error: one request, no waiting', async () => {
    // Act
    const error = await stytch.m2m
      .get('m2m-client-test-00000000-0000-4000-8000-000000000000')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ statusCode: 404, retryable: false });
    expect(requestsTo('m2m.clients.get')).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });
});
