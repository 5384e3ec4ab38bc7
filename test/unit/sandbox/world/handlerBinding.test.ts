import { describe, expect, it } from 'vitest';
import {
  bindFunctions,
  bindStep,
  EVENT_RULE_TARGETS,
  STATE_MACHINE_TASKS,
  type StepName,
} from '#sandbox/world/handlerBinding.js';
import { fakeDeps } from '../../../support/fakes.js';

describe('The handler binding (sandbox/world/handlerBinding.ts)', () => {
  it('binds each state machine task and each rule target to its own step, by construct path', () => {
    // Prepare
    const bound: StepName[] = [];

    // Act
    const handlers = bindFunctions({ ...STATE_MACHINE_TASKS, ...EVENT_RULE_TARGETS }, (name) => {
      bound.push(name);
      return async () => name;
    });

    // Assess
    expect(Object.keys(handlers)).toEqual([
      'StartRotationFunction/Function',
      'PublishPendingFunction/Function',
      'AwaitConsumersFunction/Function',
      'CompleteRotationFunction/Function',
      'CancelRotationFunction/Function',
      'RecordFailureFunction/Function',
      'HealthAggregatorFunction/Function',
      'LeakIntakeFunction/Function',
      'ExecutionReconcilerFunction/Function',
    ]);
    expect(bound).toEqual(Object.values({ ...STATE_MACHINE_TASKS, ...EVENT_RULE_TARGETS }));
  });

  it('runs the deployed step in its Lambda wrapper, over the deps it is given', async () => {
    // Prepare
    const fakes = fakeDeps({});
    let built = 0;
    const handler = bindStep('HealthAggregator', async () => {
      built += 1;
      return fakes.deps;
    });

    // Act: a malformed report is an error (the wrapper logs it under the step's name)
    const answer = handler({
      'detail-type': 'Consumer Health Reported',
      source: 'stytch-m2m-rotator.consumer.api',
      detail: { clientId: 'm2m-client-test-1', rotationId: 'not-a-uuid', consumer: 'api', healthy: true },
    });

    // Assess
    await expect(answer).rejects.toThrow(/Consumer Health Reported event/);
    expect(built).toBe(1);
    expect(fakes.logger.lines.map((line) => JSON.parse(line).message)).toEqual(['HealthAggregator failed']);
  });
});
