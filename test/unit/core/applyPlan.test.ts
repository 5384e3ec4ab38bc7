import { describe, expect, it } from 'vitest';
import {
  type ApplyFacts,
  changesOf,
  type PlannedEntry,
  planApply,
  planNeedsStytch,
  type StytchClientFact,
} from '#core/applyPlan.js';
import { type ClientSpec, type ClientSpecInput, ClientSpecSchema, clientSpecKey } from '#core/clientSpec.js';
import type { ClientRegistration } from '#core/registry.js';

function entry(input: ClientSpecInput, line = 1, index = 0): PlannedEntry {
  const parsed = ClientSpecSchema.parse(input);
  return { spec: { ...parsed, name: clientSpecKey(parsed) } as ClientSpec, line, index };
}

function registration(overrides: Partial<ClientRegistration> = {}): ClientRegistration {
  return {
    clientId: 'm2m-client-test-billing',
    clientKind: 'm2m',
    name: 'billing',
    scopes: ['read:invoices'],
    expectedConsumers: [],
    secretId: 'stytch/m2m/m2m-client-test-billing',
    registeredAt: '2026-12-01T00:00:00.000Z',
    registeredBy: 'cli:test',
    registrar: 'apply',
    ...overrides,
  };
}

function stytchClient(overrides: Partial<StytchClientFact> = {}): StytchClientFact {
  return {
    clientId: 'm2m-client-test-other',
    kind: 'm2m',
    name: 'other',
    scopes: ['read:other'],
    managedByRotator: false,
    ...overrides,
  };
}

function facts(overrides: Partial<ApplyFacts> = {}): ApplyFacts {
  return { registry: [], stytch: new Map(), storedSecrets: new Set(), ...overrides };
}

describe('Function: planApply', () => {
  it('plans nothing for an applied file: every entry unchanged, whatever the key order', () => {
    // Prepare
    const current = registration({
      expectedConsumers: ['billing-api'],
      policy: { expectedConsumers: ['billing-api'], leak: { onDeadline: 'complete', deadlineSeconds: 60 } },
      schedule: {
        expression: 'rate(30 days)',
        timeZone: 'UTC',
        // What apply gave it: the default window (scheduleSpread.ts).
        flexibleWindowMinutes: 15,
        scheduleName: 'rotate-m2m-client-test-billing',
      },
    });
    const spec = entry({
      name: 'billing',
      scopes: ['read:invoices'],
      schedule: { expression: 'rate(30 days)' },
      policy: { leak: { deadlineSeconds: 60, onDeadline: 'complete' }, expectedConsumers: ['billing-api'] },
    });

    // Act
    const plan = planApply([spec], facts({ registry: [current] }), { prune: true });

    // Assess
    // The entry as planned carries the window the spread gave it.
    const planned = {
      ...spec,
      spec: {
        ...spec.spec,
        schedule: { ...spec.spec.schedule, flexibleWindowMinutes: 15 },
      },
    };
    expect(plan).toEqual({ actions: [{ action: 'unchanged', entry: planned, current }], problems: [] });
    expect(planNeedsStytch([spec], [current])).toBe(false);
  });

  it('names each kind of change, in a fixed order', () => {
    // Prepare
    const current = registration();
    const spec = entry({
      name: 'billing',
      clientId: 'm2m-client-test-billing',
      scopes: ['write:invoices'],
      schedule: { expression: 'rate(7 days)' },
      policy: { expectedConsumers: ['api'] },
    });

    // Act & Assess
    expect(changesOf(spec.spec, current)).toEqual(['scopes', 'schedule', 'policy']);
    expect(changesOf(entry({ name: 'renamed', clientId: 'm2m-client-test-billing' }).spec, current)).toEqual([
      'name',
    ]);
  });

  it('creates an unknown name, recovers one the rotator created, and refuses one it did not', () => {
    // Prepare
    const stytch = new Map([
      [
        'm2m-client-test-ours',
        stytchClient({ clientId: 'm2m-client-test-ours', name: 'ours', managedByRotator: true }),
      ],
      ['m2m-client-test-theirs', stytchClient({ clientId: 'm2m-client-test-theirs', name: 'theirs' })],
    ]);
    const entries = [
      entry({ name: 'new', scopes: ['read:a'] }, 2, 0),
      entry({ name: 'ours', scopes: ['read:a'] }, 4, 1),
      entry({ name: 'theirs', scopes: ['read:a'] }, 6, 2),
    ];

    // Act
    const plan = planApply(entries, facts({ stytch, storedSecrets: new Set(['m2m-client-test-ours']) }), {
      prune: false,
    });

    // Assess
    expect(plan.actions).toEqual([
      { action: 'create', entry: entries[0] },
      { action: 'create', entry: entries[1], recoverClientId: 'm2m-client-test-ours', secretStored: true },
    ]);
    expect(plan.problems).toEqual([
      {
        line: 6,
        index: 2,
        message: expect.stringContaining(
          'Stytch already has an M2M client named "theirs" (m2m-client-test-theirs)',
        ),
      },
    ]);
  });

  it('adopts by id only with a stored secret or resecret, and names a missing client', () => {
    // Prepare
    const stytch = new Map([
      ['m2m-client-test-a', stytchClient({ clientId: 'm2m-client-test-a', scopes: ['read:a'] })],
      ['m2m-client-test-b', stytchClient({ clientId: 'm2m-client-test-b' })],
      ['m2m-client-test-c', stytchClient({ clientId: 'm2m-client-test-c' })],
      [
        'connected-app-test-p',
        stytchClient({ clientId: 'connected-app-test-p', kind: 'connected_app', isPublic: true }),
      ],
    ]);
    const entries = [
      entry({ clientId: 'm2m-client-test-a', scopes: ['read:a', 'read:b'] }, 1, 0),
      entry({ clientId: 'm2m-client-test-b' }, 2, 1),
      entry({ clientId: 'm2m-client-test-c', resecret: true }, 3, 2),
      entry({ clientId: 'm2m-client-test-gone' }, 4, 3),
      entry({ clientId: 'connected-app-test-p', kind: 'connected_app' }, 5, 4),
      entry({ clientId: 'm2m-client-test-a-2', kind: 'connected_app' }, 6, 5),
    ];

    // Act
    const plan = planApply(entries, facts({ stytch, storedSecrets: new Set(['m2m-client-test-a']) }), {
      prune: false,
    });

    // Assess
    expect(plan.actions).toEqual([
      { action: 'adopt', entry: entries[0], clientId: 'm2m-client-test-a', resecret: false, setScopes: true },
      { action: 'adopt', entry: entries[2], clientId: 'm2m-client-test-c', resecret: true, setScopes: false },
    ]);
    expect(plan.problems.map((problem) => [problem.line, problem.message.split(':')[0]])).toEqual([
      [2, 'clientId'],
      [4, 'clientId'],
      [5, 'clientId'],
      [6, 'clientId'],
    ]);
    expect(plan.problems[0]?.message).toContain('Secrets Manager holds no secret for m2m-client-test-b');
    expect(plan.problems[1]?.message).toContain('Stytch has no M2M client m2m-client-test-gone');
    expect(plan.problems[2]?.message).toContain('public Connected App');
  });

  it("prunes only apply's own clients, and only with prune; register's are kept", () => {
    // Prepare
    const applied = registration({ clientId: 'm2m-client-test-applied', name: 'applied' });
    const registered = registration({
      clientId: 'm2m-client-test-registered',
      name: 'registered',
      registrar: 'register',
    });
    const legacy = registration({ clientId: 'm2m-client-test-legacy', name: 'legacy', registrar: undefined });
    const registry = [applied, registered, legacy];

    // Act
    const kept = planApply([], facts({ registry }), { prune: false });
    const pruned = planApply([], facts({ registry }), { prune: true });

    // Assess
    expect(kept.actions.map((action) => [action.action, 'why' in action ? action.why : undefined])).toEqual([
      ['keep', 'no-prune'],
      ['keep', 'registered'],
      ['keep', 'registered'],
    ]);
    expect(pruned.actions).toEqual([
      { action: 'remove', current: applied },
      { action: 'keep', current: registered, why: 'registered' },
      { action: 'keep', current: legacy, why: 'registered' },
    ]);
  });

  it('refuses an entry whose name and client id are two managed clients, or another kind', () => {
    // Prepare
    const a = registration({ clientId: 'm2m-client-test-a', name: 'a' });
    const b = registration({ clientId: 'm2m-client-test-b', name: 'b' });
    const entries = [
      entry({ name: 'a', clientId: 'm2m-client-test-b' }, 1, 0),
      entry({ name: 'b', clientId: 'm2m-client-test-b', kind: 'connected_app' }, 2, 1),
    ];

    // Act
    const plan = planApply(entries, facts({ registry: [a, b] }), { prune: false });

    // Assess
    expect(plan.problems.map((problem) => problem.message)).toEqual([
      'name "a" is managed as m2m-client-test-a, not m2m-client-test-b: one name is one client',
      'kind: m2m-client-test-b is managed as m2m, not connected_app',
    ]);
  });
});
