import { describe, expect, it } from 'vitest';
import {
  BUDGET_NAMES,
  BudgetExhaustedError,
  type BudgetName,
  type FixedWindowLimit,
  RateBudget,
  type RateBudgetStorePort,
  rateBudgetLimits,
  stytchBudgetOf,
  windowOf,
} from '#core/rateBudget.js';

/** Counts windows in memory, as the ledger table does: never past the limit. */
class MemoryStore implements RateBudgetStorePort {
  public readonly used = new Map<string, number>();
  public async take(name: BudgetName, windowStartMs: number, count: number, limit: FixedWindowLimit) {
    const key = `${name}@${windowStartMs}`;
    const used = this.used.get(key) ?? 0;
    if (used + count > limit.requests) return false;
    this.used.set(key, used + count);
    return true;
  }
}

/** A clock that moves only when the budget sleeps. */
function fakeTime(startMs: number) {
  let now = startMs;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
  };
}

const LIMITS = rateBudgetLimits({ stytchRequestsPerSecond: 2, secretsManagerWritesPerSecond: 5 });

describe('Function: windowOf', () => {
  it('starts windows at multiples of their length since the epoch, as Stytch (not rolling)', () => {
    expect(windowOf(12_345, 1_000)).toEqual({ startMs: 12_000, endMs: 13_000 });
    expect(windowOf(12_000, 1_000)).toEqual({ startMs: 12_000, endMs: 13_000 });
    expect(windowOf(7_199_999, 3_600_000)).toEqual({ startMs: 3_600_000, endMs: 7_200_000 });
  });
});

describe('Function: rateBudgetLimits', () => {
  it('gives each Stytch group the project rate and the writes theirs, in windows of one second', () => {
    expect(LIMITS).toEqual({
      [BUDGET_NAMES.stytchManagement]: { requests: 2, windowMs: 1000 },
      [BUDGET_NAMES.stytchToken]: { requests: 2, windowMs: 1000 },
      [BUDGET_NAMES.secretsManagerWrites]: { requests: 5, windowMs: 1000 },
    });
    expect(stytchBudgetOf('management')).toBe(BUDGET_NAMES.stytchManagement);
    expect(stytchBudgetOf('token')).toBe(BUDGET_NAMES.stytchToken);
  });
});

describe('Class: RateBudget', () => {
  it('grants within the window without waiting, then waits for the next window', async () => {
    // Prepare
    const store = new MemoryStore();
    const time = fakeTime(10_100);
    const budget = new RateBudget({ store, limits: LIMITS, ...time, random: () => 0 });

    // Act
    await budget.acquire(BUDGET_NAMES.stytchManagement);
    await budget.acquire(BUDGET_NAMES.stytchManagement);
    await budget.acquire(BUDGET_NAMES.stytchManagement);

    // Assess
    expect(time.sleeps).toEqual([900]);
    expect(Object.fromEntries(store.used)).toEqual({
      'stytch-management@10000': 2,
      'stytch-management@11000': 1,
    });
  });

  it('keeps the budgets apart: a full management window leaves the token endpoint its own', async () => {
    // Prepare
    const store = new MemoryStore();
    const time = fakeTime(20_000);
    const budget = new RateBudget({ store, limits: LIMITS, ...time });
    await budget.acquire(BUDGET_NAMES.stytchManagement, 2);

    // Act
    await budget.acquire(BUDGET_NAMES.stytchToken, 2);

    // Assess
    expect(time.sleeps).toEqual([]);
  });

  it('gives up past its inline wait with a retryable BudgetExhaustedError naming the next window', async () => {
    // Prepare: every window is already full (other callers)
    const store: RateBudgetStorePort = { take: async () => false };
    const time = fakeTime(30_250);
    const budget = new RateBudget({
      store,
      limits: LIMITS,
      ...time,
      random: () => 0,
      maxInlineWaitMs: 1_500,
    });

    // Act
    const error = await budget.acquire(BUDGET_NAMES.secretsManagerWrites).catch((e: unknown) => e);

    // Assess: it waited for the next window once (750 ms), and the one after would pass 1.5 s
    expect(error).toBeInstanceOf(BudgetExhaustedError);
    expect(error).toMatchObject({
      name: 'BudgetExhaustedError',
      retryable: true,
      budget: 'secretsmanager-writes',
      retryAtMs: 32_000,
    });
    expect(time.sleeps).toEqual([750]);
  });

  it('spreads the callers that wait for one window over its first part, not its first millisecond', async () => {
    // Prepare
    const store = new MemoryStore();
    await store.take(BUDGET_NAMES.stytchManagement, 40_000, 2, LIMITS[BUDGET_NAMES.stytchManagement]);
    const time = fakeTime(40_000);
    const budget = new RateBudget({ store, limits: LIMITS, ...time, random: () => 0.5 });

    // Act
    await budget.acquire(BUDGET_NAMES.stytchManagement);

    // Assess: 1,000 ms to the next window, plus half of its first fifth
    expect(time.sleeps).toEqual([1_100]);
  });

  it("takes nothing in a window's last twentieth: a request sent then could reach Stytch in the next window", async () => {
    // Prepare
    const store = new MemoryStore();
    const time = fakeTime(50_960);
    const budget = new RateBudget({ store, limits: LIMITS, ...time, random: () => 0 });

    // Act
    await budget.acquire(BUDGET_NAMES.stytchManagement);

    // Assess
    expect(time.sleeps).toEqual([40]);
    expect(Object.fromEntries(store.used)).toEqual({ 'stytch-management@51000': 1 });
  });

  it('refuses at once a request larger than a whole window (waiting would never help)', async () => {
    const budget = new RateBudget({ store: new MemoryStore(), limits: LIMITS, ...fakeTime(0) });
    await expect(budget.acquire(BUDGET_NAMES.stytchManagement, 3)).rejects.toThrow(
      '3 requests can never fit the stytch-management budget of 2',
    );
  });
});
