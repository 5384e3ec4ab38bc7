import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { powertoolsMetrics } from '#adapters/powertools/metrics.js';

/** One EMF document as Powertools writes it: one JSON object per stdout line. */
interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

describe('Function: powertoolsMetrics', () => {
  let stdout: MockInstance<typeof process.stdout.write>;
  const emitted = (): EmfDocument[] =>
    stdout.mock.calls
      .flatMap(([chunk]) => String(chunk).split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as EmfDocument);

  beforeEach(() => {
    // What RotatorFunction sets on every function; Powertools reads it when the Metrics is built.
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'StytchM2MRotator');
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    stdout.mockRestore();
    vi.unstubAllEnvs();
  });

  it('writes the rotation duration and the outcome count as two EMF documents at once', () => {
    // Prepare
    const metrics = powertoolsMetrics();

    // Act
    metrics.rotationEnded({
      trigger: 'leak',
      outcome: 'completed',
      reason: 'deadline_fail_secure',
      durationMs: 1234,
    });

    // Assess
    const [duration, outcome, ...rest] = emitted();
    expect(rest).toEqual([]);
    expect(duration?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'StytchM2MRotator',
        Dimensions: [['service', 'Trigger', 'Outcome']],
        Metrics: [{ Name: 'RotationDuration', Unit: 'Milliseconds' }],
      },
    ]);
    expect(duration).toMatchObject({
      service: 'stytch-m2m-rotator',
      Trigger: 'leak',
      Outcome: 'completed',
      RotationDuration: 1234,
    });
    expect(duration).not.toHaveProperty('Reason');
    expect(outcome?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'StytchM2MRotator',
        Dimensions: [['service', 'Trigger', 'Outcome', 'Reason']],
        Metrics: [{ Name: 'RotationOutcome', Unit: 'Count' }],
      },
    ]);
    expect(outcome).toMatchObject({
      service: 'stytch-m2m-rotator',
      Trigger: 'leak',
      Outcome: 'completed',
      Reason: 'deadline_fail_secure',
      RotationOutcome: 1,
    });
    expect(typeof duration?._aws.Timestamp).toBe('number');
  });

  it('writes the time to the first consumer report by trigger only', () => {
    // Prepare
    const metrics = powertoolsMetrics();

    // Act
    metrics.firstConsumerReport({ trigger: 'schedule', afterMs: 45_000 });

    // Assess
    const documents = emitted();
    expect(documents).toHaveLength(1);
    expect(documents[0]?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'StytchM2MRotator',
        Dimensions: [['service', 'Trigger']],
        Metrics: [{ Name: 'TimeToFirstConsumerReport', Unit: 'Milliseconds' }],
      },
    ]);
    expect(documents[0]).toMatchObject({ Trigger: 'schedule', TimeToFirstConsumerReport: 45_000 });
    expect(documents[0]).not.toHaveProperty('Outcome');
  });

  it('keeps the dimensions of one metric out of the next one', () => {
    // Prepare
    const metrics = powertoolsMetrics();

    // Act
    metrics.rotationEnded({ trigger: 'manual', outcome: 'failed', reason: 'CancelRotation', durationMs: 9 });
    metrics.firstConsumerReport({ trigger: 'leak', afterMs: 1 });

    // Assess
    const last = emitted().at(-1);
    expect(last?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'Trigger']]);
    expect(last).toMatchObject({ Trigger: 'leak' });
    expect(last).not.toHaveProperty('Reason');
  });
});
