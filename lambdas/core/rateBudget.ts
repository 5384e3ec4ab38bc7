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

/**
 * The limit of each budget: at most `requests[name]` per window of `windowMs`, windows starting at
 * multiples of `windowMs` since the epoch. One window length for all, so one item counts them all.
 */
export interface RateBudgetLimits {
  readonly windowMs: number;
  readonly requests: Readonly<Record<BudgetName, number>>;
}

/** Requests of some budgets. */
export type BudgetCounts = Partial<Readonly<Record<BudgetName, number>>>;

/** Stytch publishes no M2M numbers: a project's limit is set in the deployment config. */
export const DEFAULT_STYTCH_REQUESTS_PER_SECOND = 20;
/** Half of Secrets Manager's 50 writes per second per region: other writers in the account keep room. */
export const DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND = 25;

/** What {@link parsePerSecond} accepts, as a problem names it. */
export const PER_SECOND_PROBLEM = 'must be a whole number from 1 to 999999';

/** A per-second limit as a setting writes it (an environment variable, a CLI flag), or null. */
export function parsePerSecond(text: string): number | null {
  const trimmed = text.trim();
  return /^[1-9][0-9]{0,5}$/.test(trimmed) ? Number(trimmed) : null;
}

/** What a deployment configures: requests per second of windows of one second. */
export interface RateBudgetSettings {
  /** Each of Stytch's two groups (management routes, token endpoint) gets this many. */
  readonly stytchRequestsPerSecond: number;
  readonly secretsManagerWritesPerSecond: number;
}

/** The limits of {@link RateBudgetSettings}: windows of one second, as Stytch's per-second limits. */
export function rateBudgetLimits(settings: RateBudgetSettings): RateBudgetLimits {
  return {
    windowMs: 1000,
    requests: {
      [BUDGET_NAMES.stytchManagement]: settings.stytchRequestsPerSecond,
      [BUDGET_NAMES.stytchToken]: settings.stytchRequestsPerSecond,
      [BUDGET_NAMES.secretsManagerWrites]: settings.secretsManagerWritesPerSecond,
    },
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

/** Where the windows are counted (one conditional write per purchase). */
export interface RateBudgetStorePort {
  /**
   * Adds each count to its budget's counter of the window, unless any would pass its limit: all
   * or nothing.
   * @param windowStartMs the window to count in (from {@link windowOf})
   */
  take(windowStartMs: number, counts: BudgetCounts, limits: RateBudgetLimits): Promise<boolean>;
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
   * What one purchase buys besides what is asked for: a caller that knows its next requests (a
   * rotation step: one management request, one token request, two writes) buys them with one
   * store write instead of one each. Requests bought and not used in their window are lost: the
   * budget then runs under its limit, never over.
   * @default - nothing: each purchase buys what is asked for
   */
  readonly bundle?: BudgetCounts;
  /**
   * How long one acquisition may wait in the caller for the next window (a second's window opens
   * within a second); past it, {@link BudgetExhaustedError}.
   * @default 2_000
   */
  readonly maxInlineWaitMs?: number;
  /** Spreads the callers that wait for one window over its first part, [0, 1). @default Math.random */
  readonly random?: () => number;
  /**
   * Whether the caller serves a leak now: it may use the whole limit, where every other caller
   * stops short of the reserved part, so a leak rotation never queues behind a fleet.
   * @default - never urgent
   */
  readonly urgent?: () => boolean;
  /**
   * The part of each limit only urgent callers use (rounded down: a limit under 5 reserves none).
   * @default 0.2
   */
  readonly reservedForUrgent?: number;
  /**
   * Where the requests the caller bought and has not used yet are held: those of the invocation in
   * progress. A Lambda container serves one invocation at a time, so per container is per
   * invocation there; where one process runs many at once (the sandbox, a test), a step must not
   * spend the bundle another step bought for its own next requests.
   * @default - one holding for every caller of this budget
   */
  readonly heldCredits?: () => HeldCredits | undefined;
}

/** Requests bought and not used yet, in the window they were bought for (mutable). */
export interface HeldCredits {
  windowStartMs: number;
  counts: Map<BudgetName, number>;
  /**
   * What the caller's bundle was bought for and has not been used yet, whatever the window: when
   * the window ends between a step's requests (a slow write between its rotate/start and its
   * self-test), the next purchase buys what is left of the bundle, not the whole bundle again
   * (which would spend a management request the step never makes, halving what a fleet gets).
   * Undefined until the first bundle is bought.
   */
  unspentBundle?: Map<BudgetName, number>;
}

/** An empty holding. */
export function noHeldCredits(): HeldCredits {
  return { windowStartMs: -1, counts: new Map() };
}

const DEFAULT_MAX_INLINE_WAIT_MS = 2_000;
const DEFAULT_RESERVED_FOR_URGENT = 0.2;
// Waiters for the next window start within its first fifth, not all at its first millisecond.
const WAKE_SPREAD = 0.2;
// A request taken in a window's last moments may reach Stytch in the next window, on top of that
// window's own: nothing is taken in the last twentieth of a window (50 ms of a second).
const END_GUARD = 0.05;

/**
 * Takes requests from the shared budgets, buying them from the store a bundle at a time and
 * keeping what is bought for the rest of its window (for the invocation that bought it, see
 * {@link RateBudgetOptions.heldCredits}; else shared by every call in this process). A
 * request larger than a whole window is refused at once: waiting would never help.
 */
export class RateBudget {
  readonly #options: RateBudgetOptions;
  readonly #maxInlineWaitMs: number;
  readonly #random: () => number;
  /** Requests bought and not used yet, when the options keep no holding per invocation. */
  readonly #ownHeld: HeldCredits = noHeldCredits();

  /** The limits of a caller that serves no leak: each short of its reserved part. */
  readonly #everydayLimits: RateBudgetLimits;

  public constructor(options: RateBudgetOptions) {
    this.#options = options;
    const reserved = options.reservedForUrgent ?? DEFAULT_RESERVED_FOR_URGENT;
    const requests = Object.fromEntries(
      Object.entries(options.limits.requests).map(([budget, limit]) => [
        budget,
        limit - Math.floor(limit * reserved),
      ]),
    ) as Record<BudgetName, number>;
    this.#everydayLimits = { windowMs: options.limits.windowMs, requests };
    this.#maxInlineWaitMs = options.maxInlineWaitMs ?? DEFAULT_MAX_INLINE_WAIT_MS;
    this.#random = options.random ?? Math.random;
  }

  /**
   * Takes one request of a Stytch call from its group's budget: the Stytch client's
   * `beforeRequest` (bound, so it can be handed over as it is).
   */
  public readonly acquireStytch = (call: { readonly group: 'management' | 'token' }): Promise<void> =>
    this.acquire(stytchBudgetOf(call.group));

  /** The requests `name` may make per window. */
  public limit(name: BudgetName): number {
    return this.#options.limits.requests[name];
  }

  /**
   * Takes `count` requests from `name` in the current window: from what this process holds, else
   * bought (with the bundle), waiting in the caller for later windows up to the inline limit.
   * @throws {BudgetExhaustedError} when no window within the inline limit had room
   */
  public async acquire(name: BudgetName, count = 1): Promise<void> {
    const { now, sleep } = this.#options;
    const limits = this.#options.urgent?.() === true ? this.#options.limits : this.#everydayLimits;
    if (count > limits.requests[name]) {
      throw new RotatorError(
        `${count} requests can never fit the ${name} budget of ${limits.requests[name]}`,
      );
    }
    const giveUpAt = now() + this.#maxInlineWaitMs;
    for (;;) {
      const window = windowOf(now(), limits.windowMs);
      if (this.#spend(window.startMs, name, count)) return;
      const closing = now() >= window.endMs - END_GUARD * limits.windowMs;
      if (!closing && (await this.#buy(window.startMs, name, count, limits))) {
        if (this.#spend(window.startMs, name, count)) return;
        continue; // what was bought went to concurrent callers of this process
      }
      const wakeAt = window.endMs + Math.floor(this.#random() * WAKE_SPREAD * limits.windowMs);
      if (wakeAt > giveUpAt) throw new BudgetExhaustedError(name, window.endMs);
      await sleep(Math.max(0, wakeAt - now()));
    }
  }

  /** Uses `count` held requests of `name` in the window, if there are as many. */
  #spend(windowStartMs: number, name: BudgetName, count: number): boolean {
    const holding = this.#held();
    if (holding.windowStartMs !== windowStartMs) return false;
    const held = holding.counts.get(name) ?? 0;
    if (held < count) return false;
    holding.counts.set(name, held - count);
    const unspent = holding.unspentBundle?.get(name);
    if (unspent !== undefined) holding.unspentBundle?.set(name, Math.max(0, unspent - count));
    return true;
  }

  /** The holding of the caller now (its invocation's, or this budget's own). */
  #held(): HeldCredits {
    return this.#options.heldCredits?.() ?? this.#ownHeld;
  }

  /**
   * Buys what `name` lacks; with the bundle when this process holds nothing in the window (a
   * step's first request, whose next ones the bundle covers), else (or when the bundle does not
   * fit) alone: a step that spent part of its bundle and retries a request buys that request only.
   * The bundle is what is left of the one bought before ({@link HeldCredits.unspentBundle}) while
   * any of it is left, else the whole bundle (the next step of this holding).
   */
  async #buy(
    windowStartMs: number,
    name: BudgetName,
    count: number,
    limits: RateBudgetLimits,
  ): Promise<boolean> {
    const { store } = this.#options;
    const holding = this.#held();
    const current = holding.windowStartMs === windowStartMs;
    const heldOf = (budget: BudgetName): number => (current ? (holding.counts.get(budget) ?? 0) : 0);
    const holdsNothing = !current || [...holding.counts.values()].every((held) => held === 0);
    const lacking: BudgetCounts = { [name]: count - heldOf(name) };
    const bundle = this.#bundleFor(holding);
    const withBundle: Partial<Record<BudgetName, number>> = { ...lacking };
    for (const [budget, wanted] of bundle) {
      const more = Math.min(wanted, limits.requests[budget]);
      if (more > (withBundle[budget] ?? 0)) withBundle[budget] = more;
    }
    const bundled =
      holdsNothing && (Object.keys(withBundle).length > 1 || withBundle[name] !== lacking[name]);
    for (const counts of bundled ? [withBundle, lacking] : [lacking]) {
      if (await store.take(windowStartMs, counts, limits)) {
        if (counts === withBundle && holding.unspentBundle !== bundle) {
          holding.unspentBundle = new Map(bundle);
        }
        this.#hold(windowStartMs, counts);
        return true;
      }
    }
    return false;
  }

  /** What a bundled purchase buys: the rest of the holding's bundle while any is left, else a whole one. */
  #bundleFor(holding: HeldCredits): Map<BudgetName, number> {
    const left = holding.unspentBundle;
    if (left !== undefined && [...left.values()].some((count) => count > 0)) return left;
    return new Map(Object.entries(this.#options.bundle ?? {}) as [BudgetName, number][]);
  }

  #hold(windowStartMs: number, counts: BudgetCounts): void {
    const holding = this.#held();
    if (holding.windowStartMs !== windowStartMs) {
      holding.windowStartMs = windowStartMs;
      holding.counts = new Map();
    }
    for (const [budget, bought] of Object.entries(counts) as [BudgetName, number][]) {
      holding.counts.set(budget, (holding.counts.get(budget) ?? 0) + bought);
    }
  }
}
