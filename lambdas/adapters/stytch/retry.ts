import type { RetryPolicy } from './options.js';

/**
 * The wait before retry number `attempt` (1 = the wait after the first failure): "full jitter",
 * a uniform draw from [0, min(maxDelayMs, baseDelayMs·2^(attempt-1))). Full jitter spreads a fleet
 * of Lambdas that failed together, which plain exponential backoff would keep in lockstep.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * A `Retry-After` header in milliseconds: delta-seconds or an HTTP-date (relative to `now`).
 * Null when absent or unparseable; never negative.
 */
export function parseRetryAfterMs(header: string | string[] | undefined, now: number): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === '') {
    return null;
  }
  if (/^\d+$/.test(value)) {
    return Number(value) * 1000;
  }
  // An HTTP-date always names a day or month; without letters, Date.parse would read '-3' as a year.
  if (!/[a-z]/i.test(value)) {
    return null;
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
