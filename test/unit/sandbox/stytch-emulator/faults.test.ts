import { describe, expect, it } from 'vitest';
import { FaultInjector, StytchEmulatorError } from '#sandbox/stytch-emulator/index.js';

function injector(seed = 1, now: () => number = () => 0): FaultInjector {
  return new FaultInjector({ seed, now });
}

function outcomes(faults: FaultInjector, count: number): string[] {
  return Array.from({ length: count }, () => {
    const plan = faults.plan('m2m.clients.get');
    return plan.reject === null ? 'ok' : String(plan.reject.error.status);
  });
}

describe('Class: FaultInjector', () => {
  it('plans nothing when no fault is set', () => {
    // Act
    const plan = injector().plan('oauth2.token');

    // Assess
    expect(plan).toEqual({ reject: null, latencyMs: 0, drop: false, delayMs: 0 });
  });

  it('gives the same random outcomes for the same seed and a different sequence for another seed', () => {
    // Prepare
    const first = injector(7);
    const second = injector(7);
    const other = injector(8);
    for (const faults of [first, second, other]) faults.setRouteFault('*', { errorRate: 0.5, status: 502 });

    // Act
    const a = outcomes(first, 40);
    const b = outcomes(second, 40);
    const c = outcomes(other, 40);

    // Assess
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).toContain('502');
    expect(a).toContain('ok');
  });

  it('answers failNext before anything else, for exactly count requests, with the given error type', () => {
    // Prepare
    const faults = injector();
    faults.failNext('m2m.clients.get', { status: 500, count: 2, errorType: 'internal_server_error' });

    // Act
    const plans = [1, 2, 3].map(() => faults.plan('m2m.clients.get'));
    const other = faults.plan('m2m.clients.create');

    // Assess
    expect(plans.map((plan) => plan.reject?.error.status ?? 200)).toEqual([500, 500, 200]);
    expect(plans[0]?.reject?.error.errorType).toBe('internal_server_error');
    expect(plans[0]?.reject?.kind).toBe('error');
    expect(other.reject).toBeNull();
  });

  it('defaults failNext to one 503 server_unavailable', () => {
    // Prepare
    const faults = injector();
    faults.failNext('*');

    // Act
    const first = faults.plan('jwks');
    const second = faults.plan('jwks');

    // Assess
    expect(first.reject?.error.status).toBe(503);
    expect(first.reject?.error.errorType).toBe('server_unavailable');
    expect(second.reject).toBeNull();
  });

  it('drops, then delays, the next matching requests', () => {
    // Prepare
    const faults = injector();
    faults.dropResponseNext('m2m.secrets.rotateStart');
    faults.delayNext('m2m.secrets.rotateStart', { ms: 250, count: 2 });

    // Act
    const plans = [1, 2, 3, 4].map(() => faults.plan('m2m.secrets.rotateStart'));

    // Assess
    expect(plans.map((plan) => [plan.drop, plan.delayMs])).toEqual([
      [true, 0],
      [false, 250],
      [false, 250],
      [false, 0],
    ]);
  });

  it('does not spend a drop on a request that an injected error rejected', () => {
    // Prepare
    const faults = injector();
    faults.failNext('oauth2.token');
    faults.dropResponseNext('oauth2.token');

    // Act
    const first = faults.plan('oauth2.token');
    const second = faults.plan('oauth2.token');

    // Assess
    expect(first.reject).not.toBeNull();
    expect(first.drop).toBe(false);
    expect(second.drop).toBe(true);
  });

  it('prefers a route own config over the "*" config', () => {
    // Prepare
    const faults = injector();
    faults.setRouteFault('*', { latencyMs: 100 });
    faults.setRouteFault('jwks', { latencyMs: 5 });

    // Assess
    expect(faults.plan('jwks').latencyMs).toBe(5);
    expect(faults.plan('oauth2.token').latencyMs).toBe(100);
  });

  it('rate limits on its clock and answers 429 with a Retry-After header', () => {
    // Prepare
    let now = 1_000_000;
    const faults = injector(1, () => now);
    faults.setRateLimit({ requestsPerSecond: 2, burst: 2 });

    // Act
    const burst = [1, 2, 3].map(() => faults.plan('m2m.clients.get'));
    now += 500;
    const afterHalfSecond = faults.plan('m2m.clients.get');

    // Assess
    expect(burst[0]?.reject).toBeNull();
    expect(burst[1]?.reject).toBeNull();
    expect(burst[2]?.reject?.kind).toBe('rate_limited');
    expect(burst[2]?.reject?.error.status).toBe(429);
    expect(burst[2]?.reject?.error.errorType).toBe('too_many_requests');
    expect(burst[2]?.reject?.error.headers['retry-after']).toBe('1');
    expect(afterHalfSecond.reject).toBeNull();
  });

  it('reports the configuration and remaining one-shot counts in a JSON-serialisable snapshot', () => {
    // Prepare
    const faults = injector(42);
    faults.setRouteFault('oauth2.token', { errorRate: 0.25, status: 500, latencyMs: 10 });
    faults.setRateLimit({ requestsPerSecond: 5, retryAfterSeconds: 3 });
    faults.failNext('m2m.clients.get', { count: 3 });
    faults.dropResponseNext('*', { count: 2 });
    faults.delayNext('jwks', { ms: 50 });
    faults.plan('m2m.clients.get');

    // Act
    const snapshot = JSON.parse(JSON.stringify(faults.snapshot()));

    // Assess
    expect(snapshot).toEqual({
      seed: 42,
      routes: { 'oauth2.token': { errorRate: 0.25, status: 500, latencyMs: 10 } },
      rateLimit: { requestsPerSecond: 5, retryAfterSeconds: 3, burst: 5 },
      failNext: [{ route: 'm2m.clients.get', status: 503, errorType: null, remaining: 2 }],
      dropResponseNext: [{ route: '*', remaining: 2 }],
      delayNext: [{ route: 'jwks', ms: 50, remaining: 1 }],
    });
  });

  it('clears everything', () => {
    // Prepare
    const faults = injector();
    faults.setRouteFault('*', { errorRate: 1 });
    faults.setRateLimit({ requestsPerSecond: 1 });
    faults.failNext('*');

    // Act
    faults.clear();

    // Assess
    expect(faults.plan('jwks').reject).toBeNull();
    expect(faults.snapshot()).toEqual({
      seed: 1,
      routes: {},
      rateLimit: null,
      failNext: [],
      dropResponseNext: [],
      delayNext: [],
    });
  });

  it.each([
    ['an unknown route', (faults: FaultInjector) => faults.failNext('m2m.nope' as never)],
    ['an error rate above 1', (faults: FaultInjector) => faults.setRouteFault('*', { errorRate: 1.5 })],
    [
      'a non-5xx random status',
      (faults: FaultInjector) => faults.setRouteFault('*', { status: 429 as never }),
    ],
    ['a zero count', (faults: FaultInjector) => faults.failNext('*', { count: 0 })],
    ['a failNext status below 400', (faults: FaultInjector) => faults.failNext('*', { status: 200 })],
    ['a negative delay', (faults: FaultInjector) => faults.delayNext('*', { ms: -1 })],
    ['a zero rate', (faults: FaultInjector) => faults.setRateLimit({ requestsPerSecond: 0 })],
  ])('rejects %s', (_name, apply) => {
    // Assess
    expect(() => apply(injector())).toThrow(StytchEmulatorError);
  });
});
