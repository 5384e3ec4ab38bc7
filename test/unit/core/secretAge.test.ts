import { describe, expect, it } from 'vitest';
import { RotatorError } from '#core/errors.js';
import {
  publishSecretAges,
  type SecretAge,
  type SecretAgeMetricsPort,
  type SecretAgePort,
  secretAgeDays,
} from '#core/secretAge.js';
import { FakeClock, RecordingLogger } from '../../support/fakes.js';

const NOW = '2026-11-25T12:00:00.000Z';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

class RecordingAgeMetrics implements SecretAgeMetricsPort {
  public readonly ages: SecretAge[] = [];

  public secretAge(metric: SecretAge): void {
    this.ages.push({ ...metric });
  }
}

/** Creation dates by client id; a client mapped to an Error throws it. */
function agesPort(byClient: Readonly<Record<string, Date | Error>>): SecretAgePort {
  return {
    currentVersionCreatedAt: async (clientId) => {
      const entry = byClient[clientId];
      if (entry === undefined) throw new RotatorError(`no secret for ${clientId}`);
      if (entry instanceof Error) throw entry;
      return entry;
    },
  };
}

function setup(byClient: Readonly<Record<string, Date | Error>>) {
  const metrics = new RecordingAgeMetrics();
  const logger = new RecordingLogger();
  const deps = { ages: agesPort(byClient), metrics, clock: new FakeClock(NOW), logger };
  return { deps, metrics, logger };
}

const ago = (ms: number): Date => new Date(Date.parse(NOW) - ms);

describe('Function: secretAgeDays', () => {
  it.each([
    ['a version created now', 0, 0],
    ['one and a half days', 36 * HOUR, 1.5],
    ['36 h 7 min (rounded to 2 decimals)', 36 * HOUR + 7 * 60_000, 1.5],
    ['one day and 8 minutes', DAY + 8 * 60_000, 1.01],
    ['thirty days and one hour', 30 * DAY + HOUR, 30.04],
    ['a creation date 5 minutes in the future (clock skew)', -5 * 60_000, 0],
  ])('returns the age of %s in days', (_label, ageMs, days) => {
    // Act
    const age = secretAgeDays(ago(ageMs), new Date(NOW));

    // Assess
    expect(age).toBe(days);
  });
});

describe('Function: publishSecretAges', () => {
  it('publishes one age per client, in the order given, and returns them', async () => {
    // Prepare
    const t = setup({
      'm2m-client-test-a': ago(30 * DAY + HOUR),
      'm2m-client-test-b': ago(12 * HOUR),
    });

    // Act
    const summary = await publishSecretAges(t.deps, ['m2m-client-test-b', 'm2m-client-test-a']);

    // Assess
    const expected = [
      { clientId: 'm2m-client-test-b', ageDays: 0.5 },
      { clientId: 'm2m-client-test-a', ageDays: 30.04 },
    ];
    expect(t.metrics.ages).toEqual(expected);
    expect(summary).toEqual({ published: expected, problems: [] });
  });

  it('reports a client whose secret cannot be read as a problem and still publishes the others', async () => {
    // Prepare
    const denied = Object.assign(
      new RotatorError('SecretsManager ListSecretVersionIds on stytch/m2m/m2m-client-test-b failed: Denied'),
      { name: 'AwsServiceError' },
    );
    const t = setup({
      'm2m-client-test-a': ago(DAY),
      'm2m-client-test-b': denied,
      'm2m-client-test-c': ago(2 * DAY),
    });

    // Act
    const summary = await publishSecretAges(t.deps, [
      'm2m-client-test-a',
      'm2m-client-test-b',
      'm2m-client-test-c',
    ]);

    // Assess
    expect(t.metrics.ages.map((age) => age.clientId)).toEqual(['m2m-client-test-a', 'm2m-client-test-c']);
    expect(summary.problems).toEqual([
      {
        clientId: 'm2m-client-test-b',
        error: 'AwsServiceError',
        message: 'SecretsManager ListSecretVersionIds on stytch/m2m/m2m-client-test-b failed: Denied',
      },
    ]);
    // The reason reaches the log, under a key the logger keeps (not `message`, the line's own).
    expect(t.logger.lines.map((line) => JSON.parse(line))).toContainEqual({
      level: 'warn',
      message: 'Secret age not measured',
      clientId: 'm2m-client-test-b',
      error: 'AwsServiceError',
      errorMessage: 'SecretsManager ListSecretVersionIds on stytch/m2m/m2m-client-test-b failed: Denied',
    });
  });

  it("keeps a foreign error's message out of the problem (it could echo anything)", async () => {
    // Prepare
    const t = setup({ 'm2m-client-test-a': new TypeError('unexpected text from somewhere') });

    // Act
    const summary = await publishSecretAges(t.deps, ['m2m-client-test-a']);

    // Assess
    expect(summary.problems).toEqual([
      { clientId: 'm2m-client-test-a', error: 'TypeError', message: 'TypeError' },
    ]);
    expect(t.logger.lines.join('\n')).not.toContain('unexpected text');
  });

  it('publishes nothing for no clients', async () => {
    // Prepare
    const t = setup({});

    // Act
    const summary = await publishSecretAges(t.deps, []);

    // Assess
    expect(summary).toEqual({ published: [], problems: [] });
    expect(t.metrics.ages).toEqual([]);
  });

  it('reads at most four secrets at once', async () => {
    // Prepare: every read waits until the test releases it.
    let inFlight = 0;
    let maxInFlight = 0;
    const waiting: (() => void)[] = [];
    const metrics = new RecordingAgeMetrics();
    const deps = {
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
    const clientIds = Array.from({ length: 10 }, (_, i) => `m2m-client-test-${i}`);

    // Act
    const run = publishSecretAges(deps, clientIds);
    for (let released = 0; released < clientIds.length; released += 1) {
      // Let the workers start every read they may before releasing the oldest one.
      while (waiting.length === 0) await new Promise(setImmediate);
      await new Promise(setImmediate);
      waiting.shift()?.();
    }
    const summary = await run;

    // Assess
    expect(maxInFlight).toBe(4);
    expect(summary.published.map((age) => age.clientId)).toEqual(clientIds);
  });
});
