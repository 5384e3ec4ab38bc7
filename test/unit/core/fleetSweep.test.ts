import { describe, expect, it } from 'vitest';
import { RotatorError } from '#core/errors.js';
import type { StytchClientFact } from '#core/fleetDrift.js';
import { type FleetSweepDeps, type FleetSweepRecord, sweepFleet } from '#core/fleetSweep.js';
import type { RotationLock } from '#core/ports.js';
import type { ClientRegistration } from '#core/registry.js';
import type { OverdueRule, SecretAgeCounts } from '#core/secretAge.js';
import { FakeClock, RecordingLogger } from '../../support/fakes.js';

const NOW = '2026-11-25T12:00:00.000Z';
const DAY = 86_400_000;
const RULE: OverdueRule = { marginDays: 1, defaultPeriodDays: 31 };

function registration(
  clientId: string,
  clientKind: ClientRegistration['clientKind'] = 'm2m',
): ClientRegistration {
  return {
    clientId,
    clientKind,
    name: clientId,
    scopes: [],
    expectedConsumers: [],
    secretId: `stytch/m2m/${clientId}`,
    registeredAt: '2026-01-01T00:00:00.000Z',
    registeredBy: 'test',
  };
}

interface World {
  readonly registrations: readonly ClientRegistration[];
  /** Registry items that cannot be read: reported to the listing's onUnreadable, or thrown without one. */
  readonly unreadable?: readonly string[];
  /** Days old each client's secret is (default 1). */
  readonly ageDays?: Readonly<Record<string, number>>;
  /** Stytch's clients, or the error its search fails with. */
  readonly stytch: readonly StytchClientFact[] | Error;
  readonly locks?: readonly RotationLock[];
  /** The lock read fails with this. */
  readonly lockError?: Error;
  /** What the ledger says to the record: written, refused (a later sweep), or an error. */
  readonly store?: boolean | Error;
}

/** A sweep over fakes; `calls` is the order in which it read Stytch and the locks. */
function setup(world: World) {
  const calls: string[] = [];
  const counts: SecretAgeCounts[] = [];
  const records: FleetSweepRecord[] = [];
  const logger = new RecordingLogger();
  const clock = new FakeClock(NOW);
  const deps: FleetSweepDeps = {
    registry: {
      listRegistrations: async (options) => {
        for (const key of world.unreadable ?? []) {
          const error = new Error(`Ledger item ${key} is malformed: clientKind: invalid_value`);
          if (options?.onUnreadable === undefined) throw error;
          options.onUnreadable(key, error);
        }
        return world.registrations;
      },
    },
    ages: {
      currentVersionCreatedAt: async (clientId) =>
        new Date(clock.now().getTime() - (world.ageDays?.[clientId] ?? 1) * DAY),
    },
    metrics: { secretAgeCounts: (run) => counts.push(run) },
    clock,
    logger,
    stytch: {
      listClients: async () => {
        calls.push('stytch');
        if (world.stytch instanceof Error) throw world.stytch;
        return world.stytch;
      },
    },
    locks: {
      getLock: async (clientId) => {
        calls.push(`lock ${clientId}`);
        if (world.lockError !== undefined) throw world.lockError;
        return world.locks?.find((lock) => lock.clientId === clientId) ?? null;
      },
    },
    sweeps: {
      putFleetSweep: async (record) => {
        calls.push('record');
        const store = world.store ?? true;
        if (store instanceof Error) throw store;
        if (store) records.push(record);
        return store;
      },
    },
  };
  const logged = () => logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { deps, calls, counts, records, logged };
}

const m2m = (clientId: string, nextSecretPending = false): StytchClientFact => ({
  clientId,
  kind: 'm2m',
  nextSecretPending,
});

/** One of each kind of drift, and a rotation in flight that is none. */
const DRIFTED: World = {
  registrations: [
    registration('m2m-client-test-abandoned'),
    registration('m2m-client-test-deleted'),
    registration('m2m-client-test-old'),
    registration('m2m-client-test-rotating'),
  ],
  ageDays: { 'm2m-client-test-old': 40 },
  stytch: [
    m2m('m2m-client-test-abandoned', true),
    m2m('m2m-client-test-old'),
    m2m('m2m-client-test-rotating', true),
    { clientId: 'connected-app-test-stranger', kind: 'connected_app', nextSecretPending: false },
  ],
  locks: [
    {
      clientId: 'm2m-client-test-rotating',
      rotationId: 'rotation-1',
      expiresAt: new Date(Date.parse(NOW) + 60_000).toISOString(),
    },
    // An abandoned rotation's lock, expired: it holds nothing.
    {
      clientId: 'm2m-client-test-abandoned',
      rotationId: 'rotation-0',
      expiresAt: new Date(Date.parse(NOW) - 60_000).toISOString(),
    },
  ],
};

describe('Function: sweepFleet (the drift)', () => {
  it('publishes the drift with the ages in one set of counts, and records the sweep with its samples', async () => {
    // Prepare
    const t = setup(DRIFTED);

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(t.counts).toEqual([
      {
        managedClients: 4,
        overdue: 1,
        unmeasured: 0,
        drift: { midRotationAtStytch: 1, missingAtStytch: 1, unmanaged: 1 },
      },
    ]);
    const sweep: FleetSweepRecord = {
      sweptAt: NOW,
      managedClients: 4,
      unmeasured: 0,
      overdue: 1,
      midRotationAtStytch: 1,
      missingAtStytch: 1,
      unmanaged: 1,
      samples: {
        overdue: ['m2m-client-test-old'],
        midRotationAtStytch: ['m2m-client-test-abandoned'],
        missingAtStytch: ['m2m-client-test-deleted'],
        unmanaged: ['connected-app-test-stranger'],
      },
    };
    expect(t.records).toEqual([sweep]);
    expect(summary).toMatchObject({ clients: 4, overdueCount: 1, sweep, recorded: true });
  });

  it('sweeps the rest of the fleet past an unreadable registry item, counting it as unmeasured and naming its key', async () => {
    // Prepare
    const t = setup({ ...DRIFTED, unreadable: ['REGISTRY#/CLIENT#m2m-client-test-edited'] });

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(t.counts).toEqual([expect.objectContaining({ managedClients: 4, overdue: 1, unmeasured: 1 })]);
    expect(t.records).toEqual([expect.objectContaining({ managedClients: 4, unmeasured: 1 })]);
    expect(summary).toMatchObject({ clients: 4, recorded: true });
    expect(t.logged()).toContainEqual({
      level: 'warn',
      message: 'Registry items unreadable: skipped, counted as unmeasured',
      count: 1,
      keys: ['REGISTRY#/CLIENT#m2m-client-test-edited'],
    });
  });

  it('reads Stytch first, then the locks of the managed clients it shows mid-rotation only, then records', async () => {
    // Prepare
    const t = setup(DRIFTED);

    // Act
    await sweepFleet(t.deps, RULE);

    // Assess: no lock of the idle, the deleted or the unmanaged client is read.
    expect(t.calls).toEqual([
      'stytch',
      'lock m2m-client-test-abandoned',
      'lock m2m-client-test-rotating',
      'record',
    ]);
  });

  it('warns of the drift that alarms, naming the clients, and keeps unmanaged clients on the info line', async () => {
    // Prepare
    const t = setup(DRIFTED);

    // Act
    await sweepFleet(t.deps, RULE);

    // Assess
    const lines = t.logged();
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      'Secrets overdue for rotation',
      'Fleet drift at Stytch',
    ]);
    expect(lines).toContainEqual({
      level: 'warn',
      message: 'Fleet drift at Stytch',
      midRotationAtStytch: 1,
      midRotationSample: ['m2m-client-test-abandoned'],
      missingAtStytch: 1,
      missingSample: ['m2m-client-test-deleted'],
    });
    expect(lines.at(-1)).toEqual({
      level: 'info',
      message: 'Secret ages published',
      clients: 4,
      overdue: 1,
      problems: 0,
      midRotationAtStytch: 1,
      missingAtStytch: 1,
      unmanaged: 1,
      unmanagedSample: ['connected-app-test-stranger'],
    });
  });

  it('still publishes and records the ages, without drift counts, when Stytch cannot be read, and does not fail', async () => {
    // Prepare: what the Stytch client throws after its retries on 429.
    const limited = Object.assign(
      new RotatorError(
        'Stytch POST /v1/m2m/clients/search failed with HTTP 429 too_many_requests: slow down',
      ),
      { name: 'StytchRateLimitedError' },
    );
    const t = setup({ ...DRIFTED, stytch: limited });

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(t.counts).toEqual([{ managedClients: 4, overdue: 1, unmeasured: 0 }]);
    expect(t.calls).toEqual(['stytch', 'record']);
    const problem =
      'StytchRateLimitedError: Stytch POST /v1/m2m/clients/search failed with HTTP 429 too_many_requests: slow down';
    expect(t.records).toEqual([
      {
        sweptAt: NOW,
        managedClients: 4,
        unmeasured: 0,
        overdue: 1,
        midRotationAtStytch: null,
        missingAtStytch: null,
        unmanaged: null,
        samples: {
          overdue: ['m2m-client-test-old'],
          midRotationAtStytch: [],
          missingAtStytch: [],
          unmanaged: [],
        },
        stytchProblem: problem,
      },
    ]);
    expect(summary.recorded).toBe(true);
    expect(t.logged()).toContainEqual({
      level: 'warn',
      message: 'Fleet drift not measured: Stytch could not be read',
      errorMessage: problem,
    });
  });

  it('leaves the drift out when a lock cannot be read, and names a foreign error by its name only', async () => {
    // Prepare
    const t = setup({ ...DRIFTED, lockError: new TypeError('socket said something odd') });

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(t.counts).toEqual([{ managedClients: 4, overdue: 1, unmeasured: 0 }]);
    expect(summary.sweep).toMatchObject({ midRotationAtStytch: null, stytchProblem: 'TypeError' });
    expect(JSON.stringify(t.logged())).not.toContain('socket said');
  });

  it('says so, and does not fail, when a later sweep is recorded already', async () => {
    // Prepare
    const t = setup({ ...DRIFTED, store: false });

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(summary.recorded).toBe(false);
    expect(t.counts).toHaveLength(1);
    expect(t.logged()).toContainEqual({
      level: 'warn',
      message: 'Fleet sweep not recorded: a later sweep is',
      sweptAt: NOW,
    });
  });

  it('fails the run when the sweep cannot be recorded, after publishing its counts', async () => {
    // Prepare
    const t = setup({
      ...DRIFTED,
      store: new RotatorError('DynamoDB PutItem failed: AccessDeniedException'),
    });

    // Act & Assess
    await expect(sweepFleet(t.deps, RULE)).rejects.toThrow('DynamoDB PutItem failed');
    expect(t.counts).toHaveLength(1);
  });

  it('counts every registered client missing when Stytch holds none of them (an empty project)', async () => {
    // Prepare
    const t = setup({ registrations: DRIFTED.registrations, stytch: [] });

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(summary.sweep).toMatchObject({ missingAtStytch: 4, midRotationAtStytch: 0, unmanaged: 0 });
    expect(t.calls).toEqual(['stytch', 'record']);
  });
});
