import { ApiError, defaultErrorTypeFor, StytchEmulatorError } from './errors.js';
import { mulberry32 } from './prng.js';
import { type RateLimitConfig, TokenBucket } from './rateLimiter.js';
import { isRouteSelector, type RouteId, type RouteSelector, selectorMatches } from './routeIds.js';

/** The 5xx statuses a random route fault may answer with. */
export const ROUTE_FAULT_STATUSES = [500, 502, 503, 504] as const;
export type RouteFaultStatus = (typeof ROUTE_FAULT_STATUSES)[number];

/** Whether `value` is one of {@link ROUTE_FAULT_STATUSES}. */
export function isRouteFaultStatus(value: unknown): value is RouteFaultStatus {
  return (ROUTE_FAULT_STATUSES as readonly unknown[]).includes(value);
}

/** Standing faults of a route: random errors and added latency. */
export interface RouteFaultConfig {
  /**
   * Probability (0..1) that a request fails. One seeded PRNG draw per matching request.
   * @default - no random errors
   */
  readonly errorRate?: number;
  /**
   * Status of a random error.
   * @default 503
   */
  readonly status?: RouteFaultStatus;
  /**
   * Added before the request is processed, for every matching request.
   * @default 0
   */
  readonly latencyMs?: number;
}

/** Options of {@link FaultInjector.failNext}. */
export interface FailNextOptions {
  /** @default 503 */
  readonly status?: number;
  /** @default 1 */
  readonly count?: number;
  /** @default - by status: `server_unavailable` (503), `internal_server_error` (5xx), `too_many_requests` (429), `bad_request` (4xx) */
  readonly errorType?: string;
}

/** Options of {@link FaultInjector.dropResponseNext}. */
export interface DropResponseNextOptions {
  /** @default 1 */
  readonly count?: number;
}

/** Options of {@link FaultInjector.delayNext}. */
export interface DelayNextOptions {
  readonly ms: number;
  /** @default 1 */
  readonly count?: number;
}

/** The JSON-serialisable fault configuration, including what is left of each one-shot fault. */
export interface FaultSnapshot {
  readonly seed: number;
  readonly routes: Readonly<Partial<Record<RouteSelector, RouteFaultConfig>>>;
  readonly rateLimit: (RateLimitConfig & { readonly burst: number }) | null;
  readonly failNext: readonly {
    readonly route: RouteSelector;
    readonly status: number;
    readonly errorType: string | null;
    readonly remaining: number;
  }[];
  readonly dropResponseNext: readonly { readonly route: RouteSelector; readonly remaining: number }[];
  readonly delayNext: readonly {
    readonly route: RouteSelector;
    readonly ms: number;
    readonly remaining: number;
  }[];
}

/** Which fault shaped a request, as recorded in the request log. */
export type FaultKind = 'error' | 'rate_limited' | 'dropped' | 'delayed' | 'latency';

/** What the server must do with one request; produced by {@link FaultInjector.plan}. */
export interface FaultPlan {
  /** Answer with this error instead of processing the request (nothing is committed). */
  readonly reject: { readonly error: ApiError; readonly kind: 'error' | 'rate_limited' } | null;
  /** Wait this long before processing (or rejecting). */
  readonly latencyMs: number;
  /** Process and commit, then reset the connection without answering. */
  readonly drop: boolean;
  /** Process and commit, then hold the answer this long. */
  readonly delayMs: number;
}

interface OneShot<T> {
  readonly route: RouteSelector;
  remaining: number;
  readonly value: T;
}

/**
 * Faults for the emulated API: standing per-route faults (random errors from a seeded PRNG,
 * latency), a token-bucket rate limit on the emulator clock, and one-shot faults for the next N
 * matching requests. Per request, in this order: the rate limit (429); else the first matching
 * `failNext`; else a random error (one PRNG draw when the route has an error rate); a request that
 * was not rejected then takes the first matching `dropResponseNext`, else `delayNext`. A one-shot
 * fault is spent only by a request it actually shapes. A route's own config wins over `*`'s.
 */
export class FaultInjector {
  readonly #seed: number;
  readonly #now: () => number;
  #random: () => number;
  #routes = new Map<RouteSelector, RouteFaultConfig>();
  #rateLimit: { readonly config: RateLimitConfig; readonly bucket: TokenBucket } | null = null;
  #failNext: OneShot<{ readonly status: number; readonly errorType: string | undefined }>[] = [];
  #dropNext: OneShot<null>[] = [];
  #delayNext: OneShot<{ readonly ms: number }>[] = [];

  public constructor(options: { readonly seed: number; readonly now: () => number }) {
    this.#seed = options.seed;
    this.#now = options.now;
    this.#random = mulberry32(options.seed);
  }

  /** Sets (or with null removes) the standing faults of `route` (`*` = every route without its own). */
  public setRouteFault(route: RouteSelector, config: RouteFaultConfig | null): void {
    checkRoute(route);
    if (config === null) {
      this.#routes.delete(route);
      return;
    }
    if (config.errorRate !== undefined) checkNumber('errorRate', config.errorRate, 0, 1);
    if (config.status !== undefined && !isRouteFaultStatus(config.status)) {
      throw invalid(`status must be one of ${ROUTE_FAULT_STATUSES.join(', ')}`);
    }
    if (config.latencyMs !== undefined) checkNumber('latencyMs', config.latencyMs, 0, 600_000);
    this.#routes.set(route, { ...config });
  }

  /** Sets (or with null removes) the rate limit; excess requests get 429 `too_many_requests` with Retry-After. */
  public setRateLimit(config: RateLimitConfig | null): void {
    if (config === null) {
      this.#rateLimit = null;
      return;
    }
    checkNumber('requestsPerSecond', config.requestsPerSecond, 0, 1_000_000);
    if (config.requestsPerSecond === 0) throw invalid('requestsPerSecond must be above 0');
    if (config.burst !== undefined) checkInteger('burst', config.burst, 1);
    if (config.retryAfterSeconds !== undefined)
      checkInteger('retryAfterSeconds', config.retryAfterSeconds, 0);
    this.#rateLimit = { config: { ...config }, bucket: new TokenBucket(config, this.#now) };
  }

  /** The next `count` matching requests are answered with an error before anything is committed. */
  public failNext(route: RouteSelector, options: FailNextOptions = {}): void {
    checkRoute(route);
    const status = options.status ?? 503;
    checkInteger('status', status, 400, 599);
    const count = options.count ?? 1;
    checkInteger('count', count, 1);
    if (options.errorType !== undefined && !/^[a-z0-9_]{1,100}$/.test(options.errorType)) {
      throw invalid('errorType must be a snake_case error type');
    }
    this.#failNext.push({ route, remaining: count, value: { status, errorType: options.errorType } });
  }

  /** The next `count` matching requests are processed and committed, then the connection is reset unanswered. */
  public dropResponseNext(route: RouteSelector, options: DropResponseNextOptions = {}): void {
    checkRoute(route);
    const count = options.count ?? 1;
    checkInteger('count', count, 1);
    this.#dropNext.push({ route, remaining: count, value: null });
  }

  /** The answers to the next `count` matching requests are held for `ms` (after processing). */
  public delayNext(route: RouteSelector, options: DelayNextOptions): void {
    checkRoute(route);
    checkNumber('ms', options.ms, 0, 600_000);
    const count = options.count ?? 1;
    checkInteger('count', count, 1);
    this.#delayNext.push({ route, remaining: count, value: { ms: options.ms } });
  }

  /** Removes every fault and the rate limit. The PRNG is not reseeded: it continues its sequence. */
  public clear(): void {
    this.#routes = new Map();
    this.#rateLimit = null;
    this.#failNext = [];
    this.#dropNext = [];
    this.#delayNext = [];
  }

  public snapshot(): FaultSnapshot {
    return {
      seed: this.#seed,
      routes: Object.fromEntries([...this.#routes].map(([route, config]) => [route, { ...config }])),
      rateLimit:
        this.#rateLimit === null ? null : { ...this.#rateLimit.config, burst: this.#rateLimit.bucket.burst },
      failNext: this.#failNext.map((shot) => ({
        route: shot.route,
        status: shot.value.status,
        errorType: shot.value.errorType ?? null,
        remaining: shot.remaining,
      })),
      dropResponseNext: this.#dropNext.map((shot) => ({ route: shot.route, remaining: shot.remaining })),
      delayNext: this.#delayNext.map((shot) => ({
        route: shot.route,
        ms: shot.value.ms,
        remaining: shot.remaining,
      })),
    };
  }

  /**
   * Decides the faults of one request for `route` and spends what it uses. Called by the server
   * once per request, in arrival order; not meant for other callers.
   */
  public plan(route: RouteId): FaultPlan {
    const config = this.#routes.get(route) ?? this.#routes.get('*');
    const latencyMs = config?.latencyMs ?? 0;
    const none = { reject: null, latencyMs, drop: false, delayMs: 0 };

    if (this.#rateLimit !== null) {
      const taken = this.#rateLimit.bucket.take();
      if (!taken.allowed) {
        const error = new ApiError(429, 'too_many_requests', 'Too many requests have been made.', {
          headers: { 'retry-after': String(taken.retryAfterSeconds) },
        });
        return { ...none, reject: { error, kind: 'rate_limited' } };
      }
    }

    const failure = take(this.#failNext, route);
    if (failure !== undefined) {
      return { ...none, reject: { error: injectedError(failure.status, failure.errorType), kind: 'error' } };
    }

    if (config?.errorRate !== undefined && config.errorRate > 0 && this.#random() < config.errorRate) {
      return { ...none, reject: { error: injectedError(config.status ?? 503, undefined), kind: 'error' } };
    }

    if (take(this.#dropNext, route) !== undefined) return { ...none, drop: true };
    const delay = take(this.#delayNext, route);
    return { ...none, delayMs: delay?.ms ?? 0 };
  }
}

/** Spends one use of the first one-shot fault matching `route`. */
function take<T>(queue: OneShot<T>[], route: RouteId): T | undefined {
  const index = queue.findIndex((shot) => selectorMatches(shot.route, route));
  const shot = queue[index];
  if (shot === undefined) return undefined;
  shot.remaining -= 1;
  if (shot.remaining === 0) queue.splice(index, 1);
  return shot.value;
}

function injectedError(status: number, errorType: string | undefined): ApiError {
  const defaults = defaultErrorTypeFor(status);
  return new ApiError(status, errorType ?? defaults.errorType, defaults.message);
}

function checkRoute(route: unknown): void {
  if (!isRouteSelector(route)) throw invalid(`unknown route "${String(route)}"`);
}

function checkNumber(name: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(`${name} must be a number from ${min} to ${max}`);
  }
}

function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}`);
  }
}

function invalid(message: string): StytchEmulatorError {
  return new StytchEmulatorError(`Invalid fault setting: ${message}`, { code: 'invalid_option' });
}
