import { describe, expect, it } from 'vitest';
import {
  BUDGET_NAMES,
  type BudgetCounts,
  BudgetExhaustedError,
  type BudgetName,
  noHeldCredits,
  RateBudget,
  type RateBudgetLimits,
  type RateBudgetStorePort,
  rateBudgetLimits,
  stytchBudgetOf,
  windowOf,
} from '#core/rateBudget.js';

/** Counts windows in memory, as the ledger table does: all or nothing, never past a limit. */
class MemoryStore implements RateBudgetStorePort {
  public readonly used = new Map<string, number>();
  public readonly purchases: BudgetCounts[] = [];
  public async take(windowStartMs: number, counts: BudgetCounts, limits: RateBudgetLimits) {
    const entries = Object.entries(counts) as [BudgetName, number][];
    const key = (budget: BudgetName) => `${budget}@${windowStartMs}`;
    if (
      entries.some(([budget, count]) => (this.used.get(key(budget)) ?? 0) + count > limits.requests[budget])
    )
      return false;
    for (const [budget, count] of entries)
      this.used.set(key(budget), (this.used.get(key(budget)) ?? 0) + count);
    this.purchases.push(counts);
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
const STEP = {
  [BUDGET_NAMES.stytchManagement]: 1,
  [BUDGET_NAMES.stytchToken]: 1,
  [BUDGET_NAMES.secretsManagerWrites]: 2,
};

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
      windowMs: 1000,
      requests: { 'stytch-management': 2, 'stytch-token': 2, 'secretsmanager-writes': 5 },
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

  it('buys a step’s requests in one purchase and spends them without another store call', async () => {
    // Prepare
    const store = new MemoryStore();
    const time = fakeTime(20_000);
    const budget = new RateBudget({ store, limits: LIMITS, ...time, bundle: STEP });

    // Act: a step's management request, its self-test's token request, one write
    await budget.acquire(BUDGET_NAMES.stytchManagement);
    await budget.acquire(BUDGET_NAMES.stytchToken);
    await budget.acquire(BUDGET_NAMES.secretsManagerWrites);
    await budget.acquire(BUDGET_NAMES.stytchToken); // a second self-test try: bought on its own
    await budget.acquire(BUDGET_NAMES.secretsManagerWrites); // the second write: held already

    // Assess
    expect(store.purchases).toEqual([STEP, { 'stytch-token': 1 }]);
    expect(time.sleeps).toEqual([]);
  });

  it('buys a whole bundle again once it holds nothing (the next step of this process)', async () => {
    // Prepare
    const store = new MemoryStore();
    const budget = new RateBudget({
      store,
      limits: rateBudgetLimits({ stytchRequestsPerSecond: 4, secretsManagerWritesPerSecond: 5 }),
      ...fakeTime(25_000),
      bundle: STEP,
    });
    for (const name of [
      BUDGET_NAMES.stytchManagement,
      BUDGET_NAMES.stytchToken,
      BUDGET_NAMES.secretsManagerWrites,
      BUDGET_NAMES.secretsManagerWrites,
    ])
      await budget.acquire(name);

    // Act
    await budget.acquire(BUDGET_NAMES.stytchManagement);

    // Assess
    expect(store.purchases).toEqual([STEP, STEP]);
  });

  it('keeps each invocation’s bundle its own: a concurrent step of the process buys its bundle, never spends another’s', async () => {
    // Prepare: two steps in one process (the sandbox runs many at once), each its own holding
    const store = new MemoryStore();
    const holdings = { a: noHeldCredits(), b: noHeldCredits() };
    let running: keyof typeof holdings = 'a';
    const budget = new RateBudget({
      store,
      limits: LIMITS,
      ...fakeTime(30_000),
      bundle: STEP,
      heldCredits: () => holdings[running],
    });

    // Act: step a buys its bundle, step b then asks for the same kind of request
    await budget.acquire(BUDGET_NAMES.stytchManagement);
    running = 'b';
    await budget.acquire(BUDGET_NAMES.stytchManagement);
    running = 'a';
    await budget.acquire(BUDGET_NAMES.stytchToken);

    // Assess: b bought a bundle of its own; a's token request came from a's bundle
    expect(store.purchases).toEqual([STEP, STEP]);
    expect(holdings.a.counts.get(BUDGET_NAMES.stytchToken)).toBe(0);
    expect(holdings.b.counts.get(BUDGET_NAMES.stytchToken)).toBe(1);
  });

  it('drops what it held when its window ends; the next window buys what is left of the bundle, not a management request the step will not make', async () => {
    // Prepare: a step's rotate/start, then a write slow enough that its self-test meets the next window
    const store = new MemoryStore();
    const time = fakeTime(30_000);
    const budget = new RateBudget({ store, limits: LIMITS, ...time, bundle: STEP });
    await budget.acquire(BUDGET_NAMES.stytchManagement);
    await time.sleep(1_000);

    // Act
    await budget.acquire(BUDGET_NAMES.stytchToken);
    await budget.acquire(BUDGET_NAMES.secretsManagerWrites);
    await budget.acquire(BUDGET_NAMES.secretsManagerWrites);

    // Assess: the second window's purchase is the token request and the two writes only
    expect(store.purchases).toEqual([STEP, { 'stytch-token': 1, 'secretsmanager-writes': 2 }]);
    expect(store.used.get('stytch-management@31000')).toBeUndefined();
  });

  it('buys a whole bundle once the one before is used up, in whatever windows it was used', async () => {
    // Prepare: a step's four requests spread over two windows
    const store = new MemoryStore();
    const time = fakeTime(50_000);
    const budget = new RateBudget({ store, limits: LIMITS, ...time, bundle: STEP });
    await budget.acquire(BUDGET_NAMES.stytchManagement);
    await budget.acquire(BUDGET_NAMES.stytchToken);
    await time.sleep(1_000);
    await budget.acquire(BUDGET_NAMES.secretsManagerWrites);
    await budget.acquire(BUDGET_NAMES.secretsManagerWrites);
    await time.sleep(1_000);

    // Act: the next step of this holding
    await budget.acquire(BUDGET_NAMES.stytchManagement);

    // Assess
    expect(store.purchases).toEqual([STEP, { 'secretsmanager-writes': 2 }, STEP]);
  });

  it('buys only what the request lacks when the bundle does not fit the window', async () => {
    // Prepare: the window has room for one more write only
    const store = new MemoryStore();
    await store.take(40_000, { 'secretsmanager-writes': 4 }, LIMITS);
    const budget = new RateBudget({ store, limits: LIMITS, ...fakeTime(40_000), bundle: STEP });

    // Act
    await budget.acquire(BUDGET_NAMES.stytchManagement);

    // Assess
    expect(store.purchases.slice(1)).toEqual([{ 'stytch-management': 1 }]);
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
    await store.take(40_000, { 'stytch-management': 2 }, LIMITS);
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

  it('keeps a fifth of each limit for a leak: every other caller stops short of it', async () => {
    // Prepare: 10 management requests a second, 2 of them kept for leaks
    const store = new MemoryStore();
    let urgent = false;
    const limits = rateBudgetLimits({ stytchRequestsPerSecond: 10, secretsManagerWritesPerSecond: 5 });
    const time = fakeTime(60_000);
    const budget = new RateBudget({ store, limits, ...time, random: () => 0, urgent: () => urgent });

    // Act: 8 everyday requests fill the window as far as they may; a ninth waits; a leak's do not
    for (let i = 0; i < 8; i += 1) await budget.acquire(BUDGET_NAMES.stytchManagement);
    urgent = true;
    await budget.acquire(BUDGET_NAMES.stytchManagement);
    await budget.acquire(BUDGET_NAMES.stytchManagement);
    urgent = false;
    await budget.acquire(BUDGET_NAMES.stytchManagement);

    // Assess
    expect(store.used.get('stytch-management@60000')).toBe(10);
    expect(store.used.get('stytch-management@61000')).toBe(1);
    expect(time.sleeps).toEqual([1_000]);
  });

  it('refuses at once a request larger than a whole window (waiting would never help)', async () => {
    const budget = new RateBudget({ store: new MemoryStore(), limits: LIMITS, ...fakeTime(0) });
    await expect(budget.acquire(BUDGET_NAMES.stytchManagement, 3)).rejects.toThrow(
      '3 requests can never fit the stytch-management budget of 2',
    );
  });
});
