import { describe, expect, it } from 'vitest';
import { type ApplyFacts, type PlannedEntry, planApply } from '#core/applyPlan.js';
import { type ClientSpec, type ClientSpecInput, ClientSpecSchema, clientSpecKey } from '#core/clientSpec.js';
import type { ClientRegistration } from '#core/registry.js';
import { minimumWindowMinutes, spreadSchedules } from '#core/scheduleSpread.js';

function entry(input: ClientSpecInput, index = 0): PlannedEntry {
  const parsed = ClientSpecSchema.parse(input);
  return { spec: { ...parsed, name: clientSpecKey(parsed) } as ClientSpec, line: 3 + index * 4, index };
}

/** `n` entries sharing one schedule, from index `from`. */
function fleet(n: number, schedule: ClientSpecInput['schedule'], from = 0): PlannedEntry[] {
  return Array.from({ length: n }, (_, i) =>
    entry({ name: `worker-${from + i}`, scopes: ['read:a'], schedule }, from + i),
  );
}

const NIGHTLY = { expression: 'cron(0 3 * * ? *)', timeZone: 'Europe/Berlin' };

describe('Function: minimumWindowMinutes', () => {
  it('fits a group in half its window budget, in steps of 15 minutes, never under 15', () => {
    // 2 management requests per rotation in half of the budget: 5 rotations a second at 20 requests/s
    expect(minimumWindowMinutes(1, 20)).toBe(15);
    expect(minimumWindowMinutes(4_500, 20)).toBe(15); // 9,000 requests / 10 per s = 900 s
    expect(minimumWindowMinutes(4_501, 20)).toBe(30);
    expect(minimumWindowMinutes(10_000, 20)).toBe(45); // 2,000 s
    expect(minimumWindowMinutes(10_000, 100)).toBe(15);
  });
});

describe('Function: spreadSchedules', () => {
  it('gives every schedule that names no window the one its group needs, and keeps what an entry names', () => {
    // Prepare
    const entries = [
      ...fleet(10_000, NIGHTLY),
      entry({ name: 'lone', scopes: ['read:a'], schedule: { expression: 'rate(30 days)' } }, 10_000),
      entry(
        { name: 'wide', scopes: ['read:a'], schedule: { ...NIGHTLY, flexibleWindowMinutes: 240 } },
        10_001,
      ),
      entry({ name: 'unscheduled', scopes: ['read:a'] }, 10_002),
    ];

    // Act
    const spread = spreadSchedules(entries, 20);

    // Assess
    expect(spread.problems).toEqual([]);
    const windows = spread.entries.map((e) => e.spec.schedule?.flexibleWindowMinutes);
    expect(new Set(windows.slice(0, 10_000))).toEqual(new Set([45]));
    expect(windows.slice(10_000)).toEqual([15, 240, undefined]);
    expect(spread.entries[10_002]).toBe(entries[10_002]);
  });

  it('names each entry whose own window is too short for its group, with its line and the window it needs', () => {
    // Prepare
    const entries = fleet(6_000, { ...NIGHTLY, flexibleWindowMinutes: 10 });

    // Act
    const { problems } = spreadSchedules(entries, 20);

    // Assess
    expect(problems).toHaveLength(6_000);
    expect(problems[0]).toEqual({
      line: 3,
      index: 0,
      message:
        'schedule.flexibleWindowMinutes: 10 is too short: 6,000 clients start at cron(0 3 * * ? *) (Europe/Berlin): ' +
        'at 20 Stytch requests/s they need a window of at least 30 minutes (or leave it out)',
    });
  });

  it('refuses once a group no window of a day can hold', () => {
    // Act
    const { problems, entries } = spreadSchedules(fleet(25_000, NIGHTLY), 1);

    // Assess
    expect(problems).toEqual([
      {
        line: 3,
        index: 0,
        message:
          'schedule: 25,000 clients start at cron(0 3 * * ? *) (Europe/Berlin): at 1 Stytch requests/s they need a ' +
          'window of at least 1680 minutes, more than a day: give some of them another expression',
      },
    ]);
    expect(entries[0]?.spec.schedule?.flexibleWindowMinutes).toBeUndefined();
  });
});

describe('Function: planApply with spread schedules', () => {
  const facts: ApplyFacts = { registry: [], stytch: new Map(), storedSecrets: new Set() };

  it('plans the windows the spread gives, for the Stytch budget it is told', () => {
    // Act
    const plan = planApply(fleet(3, NIGHTLY), facts, { prune: false, stytchRequestsPerSecond: 20 });

    // Assess
    expect(plan.problems).toEqual([]);
    expect(
      plan.actions.map((action) =>
        action.action === 'create' ? action.entry.spec.schedule?.flexibleWindowMinutes : null,
      ),
    ).toEqual([15, 15, 15]);
  });

  it('changes a registered schedule that has no window yet: every schedule gets one', () => {
    // Prepare
    const registered: ClientRegistration = {
      clientId: 'm2m-client-test-worker-0',
      clientKind: 'm2m',
      name: 'worker-0',
      scopes: ['read:a'],
      expectedConsumers: [],
      secretId: 'stytch/m2m/m2m-client-test-worker-0',
      registeredAt: '2026-12-01T00:00:00.000Z',
      registeredBy: 'cli:test',
      registrar: 'apply',
      schedule: { ...NIGHTLY, scheduleName: 'rotate-m2m-client-test-worker-0' },
    };

    // Act
    const plan = planApply(fleet(1, NIGHTLY), { ...facts, registry: [registered] }, { prune: false });

    // Assess
    expect(plan.actions).toEqual([expect.objectContaining({ action: 'change', changes: ['schedule'] })]);
  });

  it('lists the spread problems with the others, in file order', () => {
    // Act
    const plan = planApply(
      [
        entry({ name: 'a', scopes: ['read:a'], schedule: { ...NIGHTLY, flexibleWindowMinutes: 1 } }, 0),
        ...fleet(9_000, NIGHTLY, 1),
      ],
      facts,
      { prune: false, stytchRequestsPerSecond: 20 },
    );

    // Assess
    expect(plan.problems.map((problem) => problem.index)).toEqual([0]);
    expect(plan.problems[0]?.message).toMatch(
      /^schedule\.flexibleWindowMinutes: 1 is too short: 9,001 clients/,
    );
  });
});
