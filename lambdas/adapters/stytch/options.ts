import { Secret } from '#core/secret.js';
import { baseUrlIssues, resolveBaseUrl } from './baseUrl.js';
import { StytchConfigError } from './errors.js';
import type { BeforeRequest, FetchFunction, JwksPath, StytchClientOptions, StytchLogger } from './types.js';

/** Defaults of every optional setting, in one place. */
export const DEFAULTS = {
  timeoutMs: 10_000,
  maxAttempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
  jwksCacheMaxAgeMs: 10 * 60_000,
  jwksRefetchCooldownMs: 30_000,
  jwksPath: 'consumer',
} as const;

/** Retry settings with defaults applied. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
}

/** {@link StytchClientOptions} validated, with every default applied. */
export interface ResolvedOptions {
  readonly projectId: string;
  readonly secret: Secret;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly fetch: FetchFunction | undefined;
  readonly logger: StytchLogger;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly beforeRequest: BeforeRequest | undefined;
  readonly jwks: {
    readonly cacheMaxAgeMs: number;
    readonly refetchCooldownMs: number;
    readonly path: JwksPath;
  };
}

const silentLogger: StytchLogger = { debug: () => undefined, warn: () => undefined };

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Validates the options, collecting every problem before throwing one {@link StytchConfigError},
 * and applies the defaults. Messages name options, never their values.
 */
export function resolveOptions(options: StytchClientOptions): ResolvedOptions {
  const issues: string[] = [];
  const check = (ok: boolean, message: string): void => {
    if (!ok) issues.push(message);
  };

  check(
    typeof options.projectId === 'string' && options.projectId.trim() !== '',
    'projectId must be a non-empty string',
  );
  const secretValue =
    options.secret instanceof Secret
      ? options.secret.reveal()
      : typeof options.secret === 'string'
        ? options.secret
        : '';
  check(secretValue !== '', 'secret must be a non-empty string or Secret');
  if (options.baseUrl !== undefined) {
    if (typeof options.baseUrl === 'string') issues.push(...baseUrlIssues(options.baseUrl));
    else issues.push('baseUrl must be a string');
  }

  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  check(isInteger(timeoutMs, 1), 'timeoutMs must be a positive integer');

  const retry: RetryPolicy = {
    maxAttempts: options.retry?.maxAttempts ?? DEFAULTS.maxAttempts,
    baseDelayMs: options.retry?.baseDelayMs ?? DEFAULTS.baseDelayMs,
    maxDelayMs: options.retry?.maxDelayMs ?? DEFAULTS.maxDelayMs,
    maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
  };
  check(isInteger(retry.maxAttempts, 1), 'retry.maxAttempts must be an integer >= 1');
  check(isInteger(retry.baseDelayMs, 0), 'retry.baseDelayMs must be an integer >= 0');
  check(isInteger(retry.maxDelayMs, 0), 'retry.maxDelayMs must be an integer >= 0');
  check(isInteger(retry.maxRetryAfterMs, 0), 'retry.maxRetryAfterMs must be an integer >= 0');
  if (isInteger(retry.baseDelayMs, 0) && isInteger(retry.maxDelayMs, 0)) {
    check(retry.maxDelayMs >= retry.baseDelayMs, 'retry.maxDelayMs must be >= retry.baseDelayMs');
  }

  const jwks = {
    cacheMaxAgeMs: options.jwks?.cacheMaxAgeMs ?? DEFAULTS.jwksCacheMaxAgeMs,
    refetchCooldownMs: options.jwks?.refetchCooldownMs ?? DEFAULTS.jwksRefetchCooldownMs,
    path: options.jwks?.path ?? DEFAULTS.jwksPath,
  };
  check(isInteger(jwks.cacheMaxAgeMs, 1), 'jwks.cacheMaxAgeMs must be a positive integer');
  check(isInteger(jwks.refetchCooldownMs, 0), 'jwks.refetchCooldownMs must be an integer >= 0');
  check(jwks.path === 'consumer' || jwks.path === 'b2b', "jwks.path must be 'consumer' or 'b2b'");

  for (const name of ['random', 'sleep', 'now', 'fetch', 'beforeRequest'] as const) {
    check(options[name] === undefined || typeof options[name] === 'function', `${name} must be a function`);
  }

  if (issues.length > 0) {
    throw new StytchConfigError(issues);
  }
  return {
    projectId: options.projectId,
    secret: Secret.from(options.secret),
    baseUrl: resolveBaseUrl(options.projectId, options.baseUrl),
    timeoutMs,
    retry,
    fetch: options.fetch,
    logger: options.logger ?? silentLogger,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? defaultSleep,
    now: options.now ?? Date.now,
    beforeRequest: options.beforeRequest,
    jwks,
  };
}

function isInteger(value: number, min: number): boolean {
  return Number.isSafeInteger(value) && value >= min;
}
