import { describe, expect, it } from 'vitest';
import { RotatorError } from '#core/errors.js';
import {
  type FleetSweepDeps,
  type FleetSweepRecord,
  type FleetSweepSummary,
  sweepFleet,
} from '#core/fleetSweep.js';
import type { ClientRegistration } from '#core/registry.js';
import {
  MAX_LISTED,
  MAX_LOGGED,
  type OverdueRule,
  overdueThresholdDays,
  type SecretAgeCounts,
  type SecretAgeMetricsPort,
  type SecretAgePort,
  type SecretAgeSummary,
  secretAgeDays,
} from '#core/secretAge.js';
import { FakeClock, RecordingLogger } from '../../support/fakes.js';

const NOW = '2026-11-25T12:00:00.000Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const RULE: OverdueRule = { marginDays: 1, defaultPeriodDays: 31 };

class RecordingAgeMetrics implements SecretAgeMetricsPort {
  public readonly runs: SecretAgeCounts[] = [];

  public secretAgeCounts(counts: SecretAgeCounts): void {
    this.runs.push({ ...counts });
  }
}

/** A registration as `rotator register` writes it, with the schedule given (none by default). */
function registration(clientId: string, schedule?: ClientRegistration['schedule']): ClientRegistration {
  return {
    clientId,
    clientKind: 'm2m',
    name: clientId,
    scopes: [],
    expectedConsumers: [],
    ...(schedule === undefined ? {} : { schedule }),
    secretId: `stytch/m2m/${clientId}`,
    registeredAt: '2026-01-01T00:00:00.000Z',
    registeredBy: 'test',
  };
}

function scheduled(expression: string, flexibleWindowMinutes?: number): ClientRegistration['schedule'] {
  return {
    expression,
    timeZone: 'UTC',
    scheduleName: 'rotation-schedule',
    ...(flexibleWindowMinutes === undefined ? {} : { flexibleWindowMinutes }),
  };
}

const ago = (ms: number): Date => new Date(Date.parse(NOW) - ms);

/** No drift at Stytch: every registered client there, none mid-rotation. */
const NO_DRIFT = { midRotationAtStytch: 0, missingAtStytch: 0, unmanaged: 0 } as const;

/**
 * The registry holds `clients`; each one's secret was created at its date, or its read throws its
 * Error. Stytch holds exactly the registered clients, none mid-rotation (the sweep's drift side is
 * fleetSweep.test.ts's): these tests are about the ages.
 */
function setup(clients: readonly [ClientRegistration, Date | Error][]) {
  const metrics = new RecordingAgeMetrics();
  const logger = new RecordingLogger();
  const byClient = new Map(clients.map(([client, created]) => [client.clientId, created]));
  const ages: SecretAgePort = {
    currentVersionCreatedAt: async (clientId) => {
      const entry = byClient.get(clientId);
      if (entry === undefined) throw new RotatorError(`no secret for ${clientId}`);
      if (entry instanceof Error) throw entry;
      return entry;
    },
  };
  const registry = { listRegistrations: async () => clients.map(([client]) => client) };
  const recorded: FleetSweepRecord[] = [];
  const deps: FleetSweepDeps = {
    registry,
    ages,
    metrics,
    clock: new FakeClock(NOW),
    logger,
    stytch: {
      listClients: async () =>
        clients.map(([client]) => ({
          clientId: client.clientId,
          kind: 'm2m' as const,
          nextSecretPending: false,
        })),
    },
    locks: { getLock: async () => null },
    sweeps: {
      putFleetSweep: async (record) => {
        recorded.push(record);
        return true;
      },
    },
  };
  const logged = () => logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { deps, metrics, logged, recorded };
}

/** The secret-age part of a sweep's summary. */
function agesOf(summary: FleetSweepSummary): SecretAgeSummary {
  const { sweep: _sweep, recorded: _recorded, ...ages } = summary;
  return ages;
}

describe('Function: secretAgeDays', () => {
  it.each([
    ['a version created now', 0, 0],
    ['one and a half days', 36 * HOUR, 1.5],
    ['36 h 7 min (rounded to 2 decimals)', 36 * HOUR + 7 * MINUTE, 1.5],
    ['one day and 8 minutes', DAY + 8 * MINUTE, 1.01],
    ['thirty days and one hour', 30 * DAY + HOUR, 30.04],
    ['a creation date 5 minutes in the future (clock skew)', -5 * MINUTE, 0],
  ])('returns the age of %s in days', (_label, ageMs, days) => {
    // Act
    const age = secretAgeDays(ago(ageMs), new Date(NOW));

    // Assess
    expect(age).toBe(days);
  });
});

describe('Function: overdueThresholdDays', () => {
  it.each([
    ['rate(30 days) + 60 min window + 1 d margin', scheduled('rate(30 days)', 60), RULE, 31.042],
    ['rate(7 days) + 120 min window + 1 d margin', scheduled('rate(7 days)', 120), RULE, 8.083],
    ['rate(14 days), no window', scheduled('rate(14 days)'), RULE, 15],
    ['rate(12 hours), no margin', scheduled('rate(12 hours)'), { ...RULE, marginDays: 0 }, 0.5],
    ['rate(90 minutes)', scheduled('rate(90 minutes)'), RULE, 1.063],
    ['a cron: the default period + 30 min window', scheduled('cron(0 3 ? * MON *)', 30), RULE, 32.021],
    [
      'a cron with a default period of 7 days',
      scheduled('cron(0 3 ? * MON *)', 30),
      { ...RULE, defaultPeriodDays: 7 },
      8.021,
    ],
    ['no schedule: the default period', undefined, RULE, 32],
  ])('is %s', (_label, schedule, rule, threshold) => {
    // Act & Assess
    expect(overdueThresholdDays(schedule, rule)).toBe(threshold);
  });
});

describe('Function: sweepFleet (the secret ages)', () => {
  it('counts a secret exactly at its threshold as not overdue, and one just past it as overdue', async () => {
    // Prepare: rate(14 days) + 1 d margin = 15 d; ages are 2-decimal days (≈ 15 min steps).
    const fifteenDays = scheduled('rate(14 days)');
    const t = setup([
      [registration('m2m-client-test-at', fifteenDays), ago(15 * DAY)],
      [registration('m2m-client-test-past', fifteenDays), ago(15 * DAY + 15 * MINUTE)],
      [registration('m2m-client-test-rounded-down', fifteenDays), ago(15 * DAY + 7 * MINUTE)],
    ]);

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(agesOf(summary)).toEqual({
      clients: 3,
      overdueCount: 1,
      overdue: [{ clientId: 'm2m-client-test-past', ageDays: 15.01, thresholdDays: 15 }],
      problemCount: 0,
      problems: [],
    });
    expect(t.metrics.runs).toEqual([{ managedClients: 3, overdue: 1, unmeasured: 0, drift: NO_DRIFT }]);
  });

  it("decides each client against its own schedule's threshold", async () => {
    // Prepare: the same 10-day age is overdue on a weekly rate, not on a 30-day one or a cron.
    const tenDays = ago(10 * DAY);
    const t = setup([
      [registration('m2m-client-test-weekly', scheduled('rate(7 days)', 120)), tenDays],
      [registration('m2m-client-test-monthly', scheduled('rate(30 days)', 60)), tenDays],
      [registration('m2m-client-test-cron', scheduled('cron(0 3 ? * MON *)')), tenDays],
      [registration('m2m-client-test-unscheduled'), tenDays],
    ]);

    // Act
    const summary = await sweepFleet(t.deps, { marginDays: 1, defaultPeriodDays: 7 });

    // Assess: the cron and the unscheduled client take the 7-day default: 8 d.
    expect(summary.overdue).toEqual([
      { clientId: 'm2m-client-test-cron', ageDays: 10, thresholdDays: 8 },
      { clientId: 'm2m-client-test-unscheduled', ageDays: 10, thresholdDays: 8 },
      { clientId: 'm2m-client-test-weekly', ageDays: 10, thresholdDays: 8.083 },
    ]);
    expect(t.metrics.runs).toEqual([{ managedClients: 4, overdue: 3, unmeasured: 0, drift: NO_DRIFT }]);
  });

  it('reports a client whose secret cannot be read as a problem, counts it, and still measures the others', async () => {
    // Prepare
    const denied = Object.assign(
      new RotatorError('SecretsManager ListSecretVersionIds on stytch/m2m/m2m-client-test-b failed: Denied'),
      { name: 'AwsServiceError' },
    );
    const t = setup([
      [registration('m2m-client-test-a'), ago(40 * DAY)],
      [registration('m2m-client-test-b'), denied],
      [registration('m2m-client-test-c'), ago(2 * DAY)],
    ]);

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(agesOf(summary)).toEqual({
      clients: 3,
      overdueCount: 1,
      overdue: [{ clientId: 'm2m-client-test-a', ageDays: 40, thresholdDays: 32 }],
      problemCount: 1,
      problems: [
        {
          clientId: 'm2m-client-test-b',
          error: 'AwsServiceError',
          message: 'SecretsManager ListSecretVersionIds on stytch/m2m/m2m-client-test-b failed: Denied',
        },
      ],
    });
    expect(t.metrics.runs).toEqual([{ managedClients: 3, overdue: 1, unmeasured: 1, drift: NO_DRIFT }]);
    // The reason reaches the log, under a key the logger keeps (not `message`, the line's own).
    expect(t.logged()).toContainEqual({
      level: 'warn',
      message: 'Secret ages not measured',
      problemCount: 1,
      problems: [
        {
          clientId: 'm2m-client-test-b',
          error: 'AwsServiceError',
          errorMessage: 'SecretsManager ListSecretVersionIds on stytch/m2m/m2m-client-test-b failed: Denied',
        },
      ],
    });
  });

  it("keeps a foreign error's message out of the problem (it could echo anything)", async () => {
    // Prepare
    const t = setup([[registration('m2m-client-test-a'), new TypeError('unexpected text from somewhere')]]);

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(summary.problems).toEqual([
      { clientId: 'm2m-client-test-a', error: 'TypeError', message: 'TypeError' },
    ]);
    expect(JSON.stringify(t.logged())).not.toContain('unexpected text');
  });

  it('publishes zero counts for an empty registry, so the alarm still gets its hourly datapoint', async () => {
    // Prepare
    const t = setup([]);

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(agesOf(summary)).toEqual({
      clients: 0,
      overdueCount: 0,
      overdue: [],
      problemCount: 0,
      problems: [],
    });
    expect(t.metrics.runs).toEqual([{ managedClients: 0, overdue: 0, unmeasured: 0, drift: NO_DRIFT }]);
    expect(t.logged()).toEqual([
      {
        level: 'info',
        message: 'Secret ages published',
        clients: 0,
        overdue: 0,
        problems: 0,
        ...NO_DRIFT,
      },
    ]);
  });

  it('fails the run when the registry cannot be listed, publishing nothing', async () => {
    // Prepare
    const t = setup([[registration('m2m-client-test-a'), ago(DAY)]]);
    const deps = {
      ...t.deps,
      registry: { listRegistrations: async () => Promise.reject(new RotatorError('DynamoDB Query failed')) },
    };

    // Act & Assess
    await expect(sweepFleet(deps, RULE)).rejects.toThrow('DynamoDB Query failed');
    expect(t.metrics.runs).toEqual([]);
  });

  it('bounds what it lists: 20 overdue and 20 problems in the log, 100 of each in the summary, most overdue first', async () => {
    // Prepare: 150 overdue (client i is 40 + i days old) and 150 unreadable, behind 10 healthy.
    const overdue = Array.from({ length: 150 }, (_, i) => [
      registration(`m2m-client-test-old-${String(i).padStart(3, '0')}`),
      ago((40 + i) * DAY),
    ]);
    const unreadable = Array.from({ length: 150 }, (_, i) => [
      registration(`m2m-client-test-gone-${String(i).padStart(3, '0')}`),
      new RotatorError(`no secret ${i}`),
    ]);
    const healthy = Array.from({ length: 10 }, (_, i) => [registration(`m2m-client-test-ok-${i}`), ago(DAY)]);
    const t = setup([...healthy, ...overdue, ...unreadable] as [ClientRegistration, Date | Error][]);

    // Act
    const summary = await sweepFleet(t.deps, RULE);

    // Assess
    expect(t.metrics.runs).toEqual([{ managedClients: 310, overdue: 150, unmeasured: 150, drift: NO_DRIFT }]);
    expect(agesOf(summary)).toMatchObject({ clients: 310, overdueCount: 150, problemCount: 150 });
    expect(summary.overdue).toHaveLength(MAX_LISTED);
    expect(summary.overdue[0]).toEqual({
      clientId: 'm2m-client-test-old-149',
      ageDays: 189,
      thresholdDays: 32,
    });
    expect(summary.overdue[MAX_LISTED - 1]?.clientId).toBe('m2m-client-test-old-050');
    expect(summary.problems.map((p) => p.clientId)).toEqual(
      unreadable.slice(0, MAX_LISTED).map(([client]) => (client as ClientRegistration).clientId),
    );
    const warnings = t.logged().filter((line) => line.level === 'warn');
    expect(warnings.map((line) => line.message)).toEqual([
      'Secrets overdue for rotation',
      'Secret ages not measured',
    ]);
    expect(warnings[0]).toMatchObject({ overdueCount: 150 });
    expect(warnings[0]?.overdue).toEqual(summary.overdue.slice(0, MAX_LOGGED));
    expect(warnings[1]).toMatchObject({ problemCount: 150 });
    expect(warnings[1]?.problems).toHaveLength(MAX_LOGGED);
    expect(t.logged().at(-1)).toEqual({
      level: 'info',
      message: 'Secret ages published',
      clients: 310,
      overdue: 150,
      problems: 150,
      ...NO_DRIFT,
    });
  });

  it('logs no warning when every secret is measured and none is overdue', async () => {
    // Prepare
    const t = setup([[registration('m2m-client-test-a', scheduled('rate(30 days)')), ago(29 * DAY)]]);

    // Act
    await sweepFleet(t.deps, RULE);

    // Assess
    expect(t.logged().map((line) => line.level)).toEqual(['info']);
  });

  it('reads at most four secrets at once', async () => {
    // Prepare: every read waits until the test releases it.
    let inFlight = 0;
    let maxInFlight = 0;
    const waiting: (() => void)[] = [];
    const clients = Array.from({ length: 10 }, (_, i) => registration(`m2m-client-test-${i}`));
    const metrics = new RecordingAgeMetrics();
    const deps: FleetSweepDeps = {
      ...setup(clients.map((client) => [client, ago(DAY)])).deps,
      ages: {
        currentVersionCreatedAt: async () => {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise<void>((resolve) => waiting.push(resolve));
          inFlight -= 1;
          return ago(DAY);
        },
      },
      metrics,
      clock: new FakeClock(NOW),
      logger: new RecordingLogger(),
    };

    // Act
    const run = sweepFleet(deps, RULE);
    for (let released = 0; released < clients.length; released += 1) {
      // Let the workers start every read they may before releasing the oldest one.
      while (waiting.length === 0) await new Promise(setImmediate);
      await new Promise(setImmediate);
      waiting.shift()?.();
    }
    const summary = await run;

    // Assess
    expect(maxInFlight).toBe(4);
    expect(summary.clients).toBe(10);
    expect(metrics.runs).toEqual([{ managedClients: 10, overdue: 0, unmeasured: 0, drift: NO_DRIFT }]);
  });
});
