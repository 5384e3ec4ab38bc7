import { describe, expect, it } from 'vitest';
import type { Trigger } from '#core/model.js';
import type { RotationContext } from '#core/state.js';
import { cancelRotation } from '#core/steps/cancelRotation.js';
import { completeRotation } from '#core/steps/completeRotation.js';
import { publishPending } from '#core/steps/publishPending.js';
import { recordFailure } from '#core/steps/recordFailure.js';
import { startRotation } from '#core/steps/startRotation.js';
import { fakeDeps } from '../../../support/fakes.js';
import { reportAsItself } from './reportAsItself.js';

const CLIENT = 'm2m-client-test-billing';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:rotation:metrics-1';

function setup(expectedConsumers: string[] = ['billing-api', 'invoice-worker']) {
  const fakes = fakeDeps({ [CLIENT]: { kind: 'm2m', policy: { expectedConsumers } } });
  const start = (trigger: Trigger = 'schedule') =>
    startRotation(fakes.deps, {
      input: { clientId: CLIENT, trigger, requestedBy: 'test' },
      executionId: EXECUTION,
    });
  const cancel = (rotation: RotationContext | undefined, trigger: Trigger = 'schedule') =>
    cancelRotation(fakes.deps, {
      input: { clientId: CLIENT, trigger },
      executionId: EXECUTION,
      ...(rotation === undefined ? {} : { rotation }),
      cancellation: { reason: 'consumer_unhealthy' },
    });
  const report = (rotation: RotationContext, consumer: string, healthy = true) =>
    reportAsItself(fakes.deps, {
      clientId: rotation.clientId,
      rotationId: rotation.rotationId,
      pendingVersionId: rotation.pendingVersionId,
      consumer,
      healthy,
      ...(healthy ? {} : { detail: `${consumer}: token rejected` }),
    });
  return { ...fakes, start, cancel, report };
}

describe('Step: completeRotation (metrics)', () => {
  it('reports the completed rotation with its trigger, reason and duration since the start', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start('leak');
    t.clock.advance(90_000);

    // Act
    await completeRotation(t.deps, { rotation, completion: { reason: 'deadline_fail_secure' } });

    // Assess
    expect(t.metrics.ended).toEqual([
      { trigger: 'leak', outcome: 'completed', reason: 'deadline_fail_secure', durationMs: 90_000 },
    ]);
    expect(t.metrics.firstReports).toEqual([]);
  });

  it('reports the same duration as its Rotation Completed event', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    t.clock.advance(1234);

    // Act
    await completeRotation(t.deps, { rotation, completion: { reason: 'all_consumers_healthy' } });

    // Assess
    const completed = t.events.events.find((event) => event.detailType === 'Rotation Completed');
    expect(completed?.detail).toMatchObject({ durationMs: 1234 });
    expect(t.metrics.ended.map((metric) => metric.durationMs)).toEqual([1234]);
  });

  it('reports once when a retry converges after the first attempt failed', async () => {
    // Prepare: Stytch completes, then the response is lost; the state machine retries the step.
    const t = setup();
    const rotation = await t.start();
    t.stytch.failNext('completeRotation', new Error('connection reset'), { commit: true });
    await expect(
      completeRotation(t.deps, { rotation, completion: { reason: 'all_consumers_healthy' } }),
    ).rejects.toThrow('connection reset');
    const afterFailure = [...t.metrics.ended];

    // Act
    await completeRotation(t.deps, { rotation, completion: { reason: 'all_consumers_healthy' } });

    // Assess
    expect(afterFailure).toEqual([]);
    expect(t.metrics.ended).toHaveLength(1);
    expect(t.metrics.ended[0]).toMatchObject({ outcome: 'completed', reason: 'all_consumers_healthy' });
  });

  it('reports nothing when it cannot complete', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    await t.secrets.removePending({ clientId: CLIENT, kind: 'm2m' }, rotation.pendingVersionId);

    // Act
    await expect(
      completeRotation(t.deps, { rotation, completion: { reason: 'all_consumers_healthy' } }),
    ).rejects.toMatchObject({ name: 'InconsistentStateError' });

    // Assess
    expect(t.metrics.ended).toEqual([]);
  });
});

describe('Step: cancelRotation (metrics)', () => {
  it('reports the cancelled rotation with its trigger, reason and duration since the start', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start('manual');
    t.clock.advance(42_000);

    // Act
    await t.cancel(rotation, 'manual');

    // Assess
    expect(t.metrics.ended).toEqual([
      { trigger: 'manual', outcome: 'cancelled', reason: 'consumer_unhealthy', durationMs: 42_000 },
    ]);
    const cancelled = t.events.events.find((event) => event.detailType === 'Rotation Cancelled');
    expect(cancelled?.detail).toMatchObject({ durationMs: 42_000 });
  });

  it('reports once when a retry converges after Stytch failed the first attempt', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    t.stytch.failNext('cancelRotation', new Error('socket hang up'));
    await expect(t.cancel(rotation)).rejects.toThrow('socket hang up');

    // Act
    await t.cancel(rotation);

    // Assess
    expect(t.metrics.ended).toEqual([
      { trigger: 'schedule', outcome: 'cancelled', reason: 'consumer_unhealthy', durationMs: 0 },
    ]);
  });

  it('reports nothing when the start never took the lock (no rotation existed)', async () => {
    // Prepare
    const t = setup();

    // Act
    await t.cancel(undefined);

    // Assess
    expect(t.metrics.ended).toEqual([]);
  });
});

describe('Step: recordFailure (metrics)', () => {
  it('reports the failed rotation with the failed state as its reason', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start('leak');
    t.clock.advance(5000);

    // Act
    await recordFailure(t.deps, {
      input: { clientId: CLIENT, trigger: 'leak' },
      executionId: EXECUTION,
      rotation,
      error: { Error: 'InconsistentStateError', Cause: '{"errorMessage":"boom"}' },
      failedState: 'CancelRotation',
    });

    // Assess
    expect(t.metrics.ended).toEqual([
      { trigger: 'leak', outcome: 'failed', reason: 'CancelRotation', durationMs: 5000 },
    ]);
  });

  it('takes the trigger from the input and the start from the ledger when the context is missing', async () => {
    // Prepare
    const t = setup();
    await t.start('manual');
    t.clock.advance(7000);

    // Act
    await recordFailure(t.deps, {
      input: { clientId: CLIENT, trigger: 'manual' },
      executionId: EXECUTION,
      error: { Error: 'Error' },
      failedState: 'CancelRotation',
    });

    // Assess
    expect(t.metrics.ended).toEqual([
      { trigger: 'manual', outcome: 'failed', reason: 'CancelRotation', durationMs: 7000 },
    ]);
  });

  it('reports nothing when it cannot tell the trigger (no Rotation Failed goes out either)', async () => {
    // Prepare
    const t = setup();

    // Act
    await recordFailure(t.deps, {
      input: { clientId: CLIENT },
      executionId: EXECUTION,
      error: { Error: 'Error' },
      failedState: 'CancelRotation',
    });

    // Assess
    expect(t.events.events).toEqual([]);
    expect(t.metrics.ended).toEqual([]);
  });
});

describe('Step: recordHealthReport (metrics)', () => {
  it('reports the time from the stored pending secret to the first consumer report, once', async () => {
    // Prepare
    const t = setup();
    const rotation = await publishPending(t.deps, { rotation: await t.start('leak') });
    t.clock.advance(45_000);

    // Act
    await t.report(rotation, 'billing-api');
    t.clock.advance(10_000);
    await t.report(rotation, 'invoice-worker');

    // Assess
    expect(t.metrics.firstReports).toEqual([{ trigger: 'leak', afterMs: 45_000 }]);
  });

  it('counts an unhealthy first report too', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    t.clock.advance(3000);

    // Act
    await t.report(rotation, 'invoice-worker', false);

    // Assess
    expect(t.metrics.firstReports).toEqual([{ trigger: 'schedule', afterMs: 3000 }]);
  });

  it('does not count a redelivered first report again', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    await t.report(rotation, 'billing-api');

    // Act
    t.clock.advance(60_000);
    await t.report(rotation, 'billing-api');

    // Assess
    expect(t.metrics.firstReports).toEqual([{ trigger: 'schedule', afterMs: 0 }]);
  });

  it('does not count a rejected report', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();

    // Act
    const result = await t.report(rotation, 'intruder');

    // Assess
    expect(result).toEqual({ accepted: false, rejection: 'unexpected_consumer' });
    expect(t.metrics.firstReports).toEqual([]);
  });
});
