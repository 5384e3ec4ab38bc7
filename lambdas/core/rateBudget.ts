import { RotatorError } from './errors.js';

/*
 * One request budget per Stytch project (and one for Secrets Manager writes), shared by every
 * function and the CLI. Stytch limits requests in fixed windows that are "not rolling" and answers
 * a 429 without Retry-After; a burst of rotations that each retried on their own turned into
 * failed rotations. Each caller takes its requests from a counter of the current window before it
 * sends them; a full window means "wait for the next one": briefly in the caller, else in the
 * state machine (BudgetExhaustedError → BudgetWait, retried there), never by burning a Lambda's
 * timeout.
 */

/** The budgets a deployment keeps. */
export const BUDGET_NAMES = {
  /** Stytch's management routes (every route that sends the project credentials). */
  stytchManagement: 'stytch-management',
  /** Stytch's token endpoint (self-tests, authentication checks). */
  stytchToken: 'stytch-token',
  /** Secrets Manager writes (50 per second per account and region). */
  secretsManagerWrites: 'secretsmanager-writes',
} as const;
export type BudgetName = (typeof BUDGET_NAMES)[keyof typeof BUDGET_NAMES];

/** The budget of a Stytch call by the group Stytch counts it in. */
export function stytchBudgetOf(group: 'management' | 'token'): BudgetName {
  return group === 'management' ? BUDGET_NAMES.stytchManagement : BUDGET_NAMES.stytchToken;
}

/** At most `requests` per window of `windowMs`; windows start at multiples of `windowMs` since the epoch. */
export interface FixedWindowLimit {
  readonly requests: number;
  readonly windowMs: number;
}

/** The limit of each budget a deployment keeps. */
export type RateBudgetLimits = Readonly<Record<BudgetName, FixedWindowLimit>>;

/** Stytch publishes no M2M numbers: a project's limit is set in the deployment config. */
export const DEFAULT_STYTCH_REQUESTS_PER_SECOND = 20;
/** Half of Secrets Manager's 50 writes per second per region: other writers in the account keep room. */
export const DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND = 25;

/** What a deployment configures: requests per second of windows of one second. */
export interface RateBudgetSettings {
  /** Each of Stytch's two groups (management routes, token endpoint) gets this many. */
  readonly stytchRequestsPerSecond: number;
  readonly secretsManagerWritesPerSecond: number;
}

/** The limits of {@link RateBudgetSettings}: windows of one second, as Stytch's per-second limits. */
export function rateBudgetLimits(settings: RateBudgetSettings): RateBudgetLimits {
  const perSecond = (requests: number): FixedWindowLimit => ({ requests, windowMs: 1000 });
  return {
    [BUDGET_NAMES.stytchManagement]: perSecond(settings.stytchRequestsPerSecond),
    [BUDGET_NAMES.stytchToken]: perSecond(settings.stytchRequestsPerSecond),
    [BUDGET_NAMES.secretsManagerWrites]: perSecond(settings.secretsManagerWritesPerSecond),
  };
}

/** The window `nowMs` falls in: `[startMs, endMs)`. */
export function windowOf(
  nowMs: number,
  windowMs: number,
): { readonly startMs: number; readonly endMs: number } {
  const startMs = Math.floor(nowMs / windowMs) * windowMs;
  return { startMs, endMs: startMs + windowMs };
}

/** What taking from a budget gave: the requests, or when the next window opens. */
export type BudgetTake = { readonly granted: true } | { readonly granted: false; readonly retryAtMs: number };

/** Where the windows are counted (one conditional increment per take). */
export interface RateBudgetStorePort {
  /**
   * Adds `count` to the window's counter unless that would pass `limit.requests`.
   * @param windowStartMs the window to count in (from {@link windowOf})
   */
  take(name: BudgetName, windowStartMs: number, count: number, limit: FixedWindowLimit): Promise<boolean>;
}

/** A full budget, as a retryable error the state machine waits on (BudgetWait). */
export class BudgetExhaustedError extends RotatorError {
  public readonly budget: BudgetName;
  /** When the next window opens, epoch ms. */
  public readonly retryAtMs: number;

  public constructor(budget: BudgetName, retryAtMs: number) {
    super(`The ${budget} budget is spent until ${new Date(retryAtMs).toISOString()}`, { retryable: true });
    this.name = 'BudgetExhaustedError';
    this.budget = budget;
    this.retryAtMs = retryAtMs;
  }
}

/** Options of {@link RateBudget}. */
export interface RateBudgetOptions {
  readonly store: RateBudgetStorePort;
  readonly limits: RateBudgetLimits;
  /** Epoch ms. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * How long one acquisition may wait in the caller for the next window (a second's window opens
   * within a second); past it, {@link BudgetExhaustedError}.
   * @default 2_000
   */
  readonly maxInlineWaitMs?: number;
  /** Spreads the callers that wait for one window over its first part, [0, 1). @default Math.random */
  readonly random?: () => number;
}

const DEFAULT_MAX_INLINE_WAIT_MS = 2_000;
// Waiters for the next window start within its first fifth, not all at its first millisecond.
const WAKE_SPREAD = 0.2;
// A request taken in a window's last moments may reach Stytch in the next window, on top of that
// window's own: nothing is taken in the last twentieth of a window (50 ms of a second).
const END_GUARD = 0.05;

/**
 * Takes requests from the shared budgets. A request larger than a whole window is refused at
 * once: waiting would never help.
 */
export class RateBudget {
  readonly #options: RateBudgetOptions;
  readonly #maxInlineWaitMs: number;
  readonly #random: () => number;

  public constructor(options: RateBudgetOptions) {
    this.#options = options;
    this.#maxInlineWaitMs = options.maxInlineWaitMs ?? DEFAULT_MAX_INLINE_WAIT_MS;
    this.#random = options.random ?? Math.random;
  }

  /** The limit of `name`. */
  public limit(name: BudgetName): FixedWindowLimit {
    return this.#options.limits[name];
  }

  /**
   * Takes `count` requests from `name`'s current window, waiting in the caller for later windows
   * up to the inline limit.
   * @throws {BudgetExhaustedError} when no window within the inline limit had room
   */
  public async acquire(name: BudgetName, count = 1): Promise<void> {
    const limit = this.#options.limits[name];
    if (count > limit.requests) {
      throw new RotatorError(`${count} requests can never fit the ${name} budget of ${limit.requests}`);
    }
    const { now, sleep, store } = this.#options;
    const giveUpAt = now() + this.#maxInlineWaitMs;
    for (;;) {
      const window = windowOf(now(), limit.windowMs);
      const closing = now() >= window.endMs - END_GUARD * limit.windowMs;
      if (!closing && (await store.take(name, window.startMs, count, limit))) return;
      const wakeAt = window.endMs + Math.floor(this.#random() * WAKE_SPREAD * limit.windowMs);
      if (wakeAt > giveUpAt) throw new BudgetExhaustedError(name, window.endMs);
      await sleep(Math.max(0, wakeAt - now()));
    }
  }
}
