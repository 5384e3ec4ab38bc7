import { describe, expect, it } from 'vitest';
import { EmulatorModes, rateLimitGroupOf, StytchEmulatorError } from '#sandbox/stytch-emulator/index.js';

function modes(clock: { ms: number }): EmulatorModes {
  return new EmulatorModes({ now: () => clock.ms });
}

/** 'ok' or the status of the refusal, for each of `count` requests to `route`. */
function admitted(target: EmulatorModes, route: Parameters<EmulatorModes['admit']>[0], count = 1): string[] {
  return Array.from({ length: count }, () => {
    const refusal = target.admit(route);
    return refusal === null ? 'ok' : String(refusal.status);
  });
}

describe('Class: EmulatorModes', () => {
  it("defaults to the emulator's original behaviour", () => {
    // Act
    const target = modes({ ms: 0 });

    // Assess
    expect(target.snapshot()).toEqual({
      fixedWindowRateLimit: null,
      consistencyDelay: { startMs: 0, completeMs: 0, cancelMs: 0 },
      tokenRefusal: { error: 'invalid_client', status: 400 },
    });
    expect(admitted(target, 'oauth2.token', 100)).not.toContain('429');
    expect(target.tokenRefusalError()).toMatchObject({
      status: 400,
      errorType: 'invalid_client',
      shape: 'oauth',
    });
  });

  describe('fixed-window rate limit', () => {
    it('admits N requests per window, then answers 429 too_many_requests without Retry-After', () => {
      // Prepare
      const clock = { ms: 10_000 };
      const target = modes(clock);
      target.set({ fixedWindowRateLimit: { management: { requests: 2, windowMs: 1_000 } } });

      // Act
      const first = admitted(target, 'm2m.clients.get', 3);
      clock.ms = 10_999;
      const late = admitted(target, 'm2m.secrets.rotate');
      clock.ms = 11_000;
      const next = admitted(target, 'm2m.clients.get', 3);
      const refusal = target.admit('m2m.clients.get');

      // Assess
      expect(first).toEqual(['ok', 'ok', '429']);
      expect(late).toEqual(['429']);
      expect(next).toEqual(['ok', 'ok', '429']);
      expect(refusal).toMatchObject({ status: 429, errorType: 'too_many_requests', headers: {} });
    });

    it('resets at fixed boundaries, not a rolling window', () => {
      // Prepare
      const clock = { ms: 1_900 };
      const target = modes(clock);
      target.set({ fixedWindowRateLimit: { token: { requests: 2, windowMs: 1_000 } } });

      // Act: two requests late in the window 1000-1999, then one at 2000 (a rolling window would refuse it).
      const late = admitted(target, 'oauth2.token', 2);
      clock.ms = 2_000;
      const boundary = admitted(target, 'oauth2.token');

      // Assess
      expect(late).toEqual(['ok', 'ok']);
      expect(boundary).toEqual(['ok']);
    });

    it('counts management and token routes apart, and never limits the JWKS', () => {
      // Prepare
      const target = modes({ ms: 0 });
      target.set({
        fixedWindowRateLimit: {
          management: { requests: 1, windowMs: 60_000 },
          token: { requests: 1, windowMs: 60_000 },
        },
      });

      // Act
      const management = [
        ...admitted(target, 'm2m.clients.create'),
        ...admitted(target, 'connectedApps.secrets.rotateStart'),
      ];
      const token = admitted(target, 'oauth2.token', 2);
      const jwks = admitted(target, 'jwks', 5);

      // Assess
      expect(management).toEqual(['ok', '429']);
      expect(token).toEqual(['ok', '429']);
      expect(jwks).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      expect(
        ['m2m.clients.get', 'oauth2.token', 'jwks'].map((route) => rateLimitGroupOf(route as never)),
      ).toEqual(['management', 'token', null]);
    });

    it('leaves an unnamed group unlimited', () => {
      // Prepare
      const target = modes({ ms: 0 });
      target.set({ fixedWindowRateLimit: { token: { requests: 0, windowMs: 1_000 } } });

      // Act
      const management = admitted(target, 'm2m.clients.get', 10);
      const token = admitted(target, 'oauth2.token');

      // Assess
      expect(management).not.toContain('429');
      expect(token).toEqual(['429']);
    });
  });

  it('replaces only the modes named, restores a default for null, and resets everything', () => {
    // Prepare
    const target = modes({ ms: 0 });
    target.set({
      consistencyDelay: { startMs: 5, completeMs: 6 },
      tokenRefusal: { error: 'unauthorized_client', status: 401 },
    });

    // Act
    target.set({ consistencyDelay: { cancelMs: 7 } });
    const afterReplace = target.snapshot();
    target.set({ tokenRefusal: null });
    const afterNull = target.snapshot();
    target.reset();

    // Assess
    expect(afterReplace.consistencyDelay).toEqual({ startMs: 0, completeMs: 0, cancelMs: 7 });
    expect(afterReplace.tokenRefusal).toEqual({ error: 'unauthorized_client', status: 401 });
    expect(afterNull.tokenRefusal).toEqual({ error: 'invalid_client', status: 400 });
    expect(target.snapshot()).toEqual(modes({ ms: 0 }).snapshot());
  });

  it('answers a client-authentication failure with the configured OAuth error', () => {
    // Prepare
    const target = modes({ ms: 0 });

    // Act
    target.set({ tokenRefusal: { error: 'invalid_grant' } });
    const defaultStatus = target.tokenRefusalError();
    target.set({ tokenRefusal: { error: 'access_denied', status: 401 } });
    const unauthorized = target.tokenRefusalError();

    // Assess
    expect(defaultStatus).toMatchObject({ status: 400, errorType: 'invalid_grant', shape: 'oauth' });
    expect(unauthorized).toMatchObject({ status: 401, errorType: 'access_denied', shape: 'oauth' });
  });

  it.each([
    ['an unknown mode', { retryAfter: 1 }, 'unknown mode "retryAfter"'],
    [
      'a negative request count',
      { fixedWindowRateLimit: { token: { requests: -1, windowMs: 1 } } },
      'fixedWindowRateLimit.token.requests',
    ],
    [
      'a zero window',
      { fixedWindowRateLimit: { management: { requests: 1, windowMs: 0 } } },
      'fixedWindowRateLimit.management.windowMs',
    ],
    [
      'an unknown group',
      { fixedWindowRateLimit: { jwks: { requests: 1, windowMs: 1 } } },
      'unknown field "jwks"',
    ],
    ['a negative delay', { consistencyDelay: { completeMs: -1 } }, 'consistencyDelay.completeMs'],
    ['a fractional delay', { consistencyDelay: { startMs: 1.5 } }, 'consistencyDelay.startMs'],
    [
      'a status other than 400/401',
      { tokenRefusal: { error: 'invalid_client', status: 403 } },
      'tokenRefusal.status',
    ],
    [
      'an error that is not an OAuth code',
      { tokenRefusal: { error: 'Invalid Client' } },
      'tokenRefusal.error',
    ],
  ])('refuses %s, naming the field, and changes nothing', (_, settings, field) => {
    // Prepare
    const target = modes({ ms: 0 });
    target.set({ consistencyDelay: { startMs: 9 } });
    const before = target.snapshot();

    // Act
    const set = () => target.set({ tokenRefusal: { error: 'invalid_grant' }, ...(settings as object) });

    // Assess
    expect(set).toThrow(StytchEmulatorError);
    expect(set).toThrow(field);
    expect(target.snapshot()).toEqual(before);
  });
});
