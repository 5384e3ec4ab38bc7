import { ApiError, oauthErrors, StytchEmulatorError } from './errors.js';
import type { RouteId } from './routeIds.js';

// Behaviour modes: ways the real Stytch may differ from the emulator's instantly consistent,
// unthrottled defaults (stytch-api.md §12). Unlike faults, a mode describes how the service
// behaves, not what goes wrong with one request: `faults.clear()` leaves the modes alone.

/** The route groups a fixed-window limit counts separately. The JWKS is in neither. */
export type RateLimitGroup = 'management' | 'token';

/** N requests per window of W ms. */
export interface FixedWindowLimit {
  /** Requests admitted per window; the next ones get 429 until the window ends. */
  readonly requests: number;
  /** Window length; windows start at multiples of it on the emulator clock (not rolling). */
  readonly windowMs: number;
}

/** A fixed-window limit per route group; an absent or null group is not limited. */
export interface FixedWindowRateLimit {
  /** Every `m2m.*` and `connectedApps.*` route, counted together. */
  readonly management?: FixedWindowLimit | null;
  /** `oauth2.token`. */
  readonly token?: FixedWindowLimit | null;
}

/**
 * How long after rotate/start, rotate (complete) and rotate/cancel the token endpoint still
 * answers as before. Management reads show the new state at once.
 */
export interface ConsistencyDelay {
  /** After rotate/start the next secret is refused this long. @default 0 */
  readonly startMs?: number;
  /** After rotate (complete) the old secret still authenticates this long. @default 0 */
  readonly completeMs?: number;
  /** After rotate/cancel the discarded next secret still authenticates this long. @default 0 */
  readonly cancelMs?: number;
}

/** The HTTP statuses a token-endpoint refusal may use. */
export const TOKEN_REFUSAL_STATUSES = [400, 401] as const;
export type TokenRefusalStatus = (typeof TOKEN_REFUSAL_STATUSES)[number];

/** How the token endpoint refuses client authentication (unknown/inactive client, wrong secret). */
export interface TokenRefusal {
  /** The OAuth `error` value, e.g. `invalid_client`, `unauthorized_client`, `invalid_grant`, `access_denied`. */
  readonly error: string;
  /** @default 400 */
  readonly status?: TokenRefusalStatus;
}

/**
 * Settings of {@link EmulatorModes.set} and the emulator's `modes` start option. A key that is
 * present replaces that mode (null restores its default); an absent key leaves it as it is.
 */
export interface EmulatorModeSettings {
  /** @default null - no fixed-window limit */
  readonly fixedWindowRateLimit?: FixedWindowRateLimit | null;
  /** @default null - every change is visible to the token endpoint at once */
  readonly consistencyDelay?: ConsistencyDelay | null;
  /** @default { error: 'invalid_client', status: 400 } */
  readonly tokenRefusal?: TokenRefusal | null;
}

/** The keys {@link EmulatorModeSettings} accepts, for rejecting typos in admin requests. */
export const MODE_KEYS = ['fixedWindowRateLimit', 'consistencyDelay', 'tokenRefusal'] as const;

/** Every mode with its defaults applied, as JSON. */
export interface ModeSnapshot {
  readonly fixedWindowRateLimit: {
    readonly management: FixedWindowLimit | null;
    readonly token: FixedWindowLimit | null;
  } | null;
  readonly consistencyDelay: {
    readonly startMs: number;
    readonly completeMs: number;
    readonly cancelMs: number;
  };
  readonly tokenRefusal: { readonly error: string; readonly status: TokenRefusalStatus };
}

/** The token endpoint's refusal as the emulator has always answered it. */
export const DEFAULT_TOKEN_REFUSAL: ModeSnapshot['tokenRefusal'] = { error: 'invalid_client', status: 400 };

const NO_DELAY: ModeSnapshot['consistencyDelay'] = { startMs: 0, completeMs: 0, cancelMs: 0 };
const MAX_MS = 3_600_000;

/** Which limit group a route counts against, or null when it is never limited (the JWKS). */
export function rateLimitGroupOf(route: RouteId): RateLimitGroup | null {
  if (route === 'oauth2.token') return 'token';
  if (route === 'jwks') return null;
  return 'management';
}

/**
 * The emulator's behaviour modes: a fixed-window rate limit per route group (429
 * `too_many_requests` without `Retry-After`), delayed consistency of rotations at the token
 * endpoint, and the OAuth `error` of a client-authentication refusal. Defaults reproduce the
 * emulator's original behaviour exactly. Every setting is validated before any is applied.
 */
export class EmulatorModes {
  readonly #now: () => number;
  #snapshot: ModeSnapshot = defaults();
  /** Admitted requests in the current window, per group. */
  #windows = new Map<RateLimitGroup, { start: number; count: number }>();

  public constructor(options: { readonly now: () => number; readonly initial?: EmulatorModeSettings }) {
    this.#now = options.now;
    if (options.initial !== undefined) this.set(options.initial);
  }

  /** Replaces the modes named in `settings` (null = that mode's default); others stay. */
  public set(settings: EmulatorModeSettings): void {
    if (typeof settings !== 'object' || settings === null) throw invalid('the settings must be an object');
    const unknown = Object.keys(settings).filter((key) => !(MODE_KEYS as readonly string[]).includes(key));
    if (unknown.length > 0) throw invalid(`unknown mode ${unknown.map((key) => `"${key}"`).join(', ')}`);
    const next: ModeSnapshot = {
      fixedWindowRateLimit:
        settings.fixedWindowRateLimit === undefined
          ? this.#snapshot.fixedWindowRateLimit
          : checkRateLimit(settings.fixedWindowRateLimit),
      consistencyDelay:
        settings.consistencyDelay === undefined
          ? this.#snapshot.consistencyDelay
          : checkDelay(settings.consistencyDelay),
      tokenRefusal:
        settings.tokenRefusal === undefined
          ? this.#snapshot.tokenRefusal
          : checkRefusal(settings.tokenRefusal),
    };
    if (settings.fixedWindowRateLimit !== undefined) this.#windows = new Map();
    this.#snapshot = next;
  }

  /** Restores every default. */
  public reset(): void {
    this.#snapshot = defaults();
    this.#windows = new Map();
  }

  public snapshot(): ModeSnapshot {
    return structuredClone(this.#snapshot);
  }

  /** The consistency delays in effect (0 each by default). */
  public get consistencyDelay(): ModeSnapshot['consistencyDelay'] {
    return this.#snapshot.consistencyDelay;
  }

  /** The OAuth error of a client-authentication refusal at the token endpoint. */
  public tokenRefusalError(): ApiError {
    return oauthErrors.invalidClient(this.#snapshot.tokenRefusal);
  }

  /**
   * Counts one request for `route` against its group's fixed window, or returns the 429 to
   * answer with when the window is full. Windows start at multiples of `windowMs` (Stytch:
   * "intervals are not rolling"); the 429 has no `Retry-After` (none is documented).
   */
  public admit(route: RouteId): ApiError | null {
    const group = rateLimitGroupOf(route);
    const limit = group === null ? null : (this.#snapshot.fixedWindowRateLimit?.[group] ?? null);
    if (group === null || limit === null) return null;
    const start = Math.floor(this.#now() / limit.windowMs) * limit.windowMs;
    let window = this.#windows.get(group);
    if (window === undefined || window.start !== start) {
      window = { start, count: 0 };
      this.#windows.set(group, window);
    }
    if (window.count >= limit.requests) {
      return new ApiError(429, 'too_many_requests', 'Too many requests have been made.');
    }
    window.count += 1;
    return null;
  }
}

function defaults(): ModeSnapshot {
  return {
    fixedWindowRateLimit: null,
    consistencyDelay: { ...NO_DELAY },
    tokenRefusal: { ...DEFAULT_TOKEN_REFUSAL },
  };
}

function checkRateLimit(value: FixedWindowRateLimit | null): ModeSnapshot['fixedWindowRateLimit'] {
  if (value === null) return null;
  checkObject('fixedWindowRateLimit', value, ['management', 'token']);
  const limit = (group: RateLimitGroup): FixedWindowLimit | null => {
    const given = value[group];
    if (given === undefined || given === null) return null;
    const name = `fixedWindowRateLimit.${group}`;
    checkObject(name, given, ['requests', 'windowMs']);
    checkInteger(`${name}.requests`, given.requests, 0, 1_000_000);
    checkInteger(`${name}.windowMs`, given.windowMs, 1, MAX_MS);
    return { requests: given.requests, windowMs: given.windowMs };
  };
  return { management: limit('management'), token: limit('token') };
}

function checkDelay(value: ConsistencyDelay | null): ModeSnapshot['consistencyDelay'] {
  if (value === null) return { ...NO_DELAY };
  checkObject('consistencyDelay', value, ['startMs', 'completeMs', 'cancelMs']);
  const ms = (key: keyof ConsistencyDelay): number => {
    const given = value[key];
    if (given === undefined || given === null) return 0;
    checkInteger(`consistencyDelay.${key}`, given, 0, MAX_MS);
    return given;
  };
  return { startMs: ms('startMs'), completeMs: ms('completeMs'), cancelMs: ms('cancelMs') };
}

function checkRefusal(value: TokenRefusal | null): ModeSnapshot['tokenRefusal'] {
  if (value === null) return { ...DEFAULT_TOKEN_REFUSAL };
  checkObject('tokenRefusal', value, ['error', 'status']);
  // RFC 6749 §5.2 error codes are plain ASCII; snake_case covers every registered one.
  if (typeof value.error !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(value.error)) {
    throw invalid('tokenRefusal.error must be a snake_case OAuth error code');
  }
  const status = value.status ?? 400;
  if (!(TOKEN_REFUSAL_STATUSES as readonly unknown[]).includes(status)) {
    throw invalid(`tokenRefusal.status must be one of ${TOKEN_REFUSAL_STATUSES.join(', ')}`);
  }
  return { error: value.error, status };
}

function checkObject(name: string, value: unknown, keys: readonly string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${name} must be an object`);
  }
  const unknown = Object.keys(value).filter((key) => !keys.includes(key));
  if (unknown.length > 0) throw invalid(`${name} has unknown field "${unknown[0]}"`);
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}`);
  }
}

function invalid(message: string): StytchEmulatorError {
  return new StytchEmulatorError(`Invalid mode setting: ${message}`, { code: 'invalid_option' });
}
