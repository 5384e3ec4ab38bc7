/** A token bucket's settings. */
export interface RateLimitConfig {
  /** Sustained rate: tokens added per second. */
  readonly requestsPerSecond: number;
  /**
   * Bucket size: how many requests may arrive at once.
   * @default - `requestsPerSecond` rounded up (at least 1)
   */
  readonly burst?: number;
  /**
   * The `Retry-After` value sent with a 429.
   * @default - the whole seconds until the next token, at least 1
   */
  readonly retryAfterSeconds?: number;
}

/** The outcome of one request against the bucket. */
export type TakeResult =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * A token bucket on an injected clock (ms), so tests with a fixed clock get exact, repeatable
 * answers: the bucket starts full and refills continuously at `requestsPerSecond`.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #retryAfterSeconds: number | undefined;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  public constructor(config: RateLimitConfig, now: () => number) {
    this.#rate = config.requestsPerSecond;
    this.#burst = config.burst ?? Math.max(1, Math.ceil(config.requestsPerSecond));
    this.#retryAfterSeconds = config.retryAfterSeconds;
    this.#now = now;
    this.#tokens = this.#burst;
    this.#last = now();
  }

  /** The effective burst (after defaults), for snapshots. */
  public get burst(): number {
    return this.#burst;
  }

  public take(): TakeResult {
    const now = this.#now();
    const elapsedSeconds = Math.max(0, now - this.#last) / 1000;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsedSeconds * this.#rate);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { allowed: true };
    }
    const untilNextToken = Math.ceil((1 - this.#tokens) / this.#rate);
    return { allowed: false, retryAfterSeconds: this.#retryAfterSeconds ?? Math.max(1, untilNextToken) };
  }
}
