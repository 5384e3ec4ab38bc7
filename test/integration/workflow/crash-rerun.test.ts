import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrashPoint, createWorld, type World } from './harness.js';
import { healthReport, outputOf, waitForEvent } from './support.js';

/**
 * A Lambda can die after any side effect. For each step boundary, the step crashes right after
 * that call took effect; the state machine retries the step, and the rotation must converge to
 * the same end state with Stytch and Secrets Manager in agreement.
 */
const COMPLETE_PATH: readonly (readonly [string, CrashPoint])[] = [
  ['StartRotation: after the lock', { port: 'ledger', method: 'acquireLock' }],
  ['StartRotation: after the ledger record', { port: 'ledger', method: 'createRotation' }],
  ['StartRotation: after Rotation Started', { port: 'events', method: 'publish' }],
  ['StartRotation: after Stytch rotate/start', { port: 'stytch', method: 'startRotation' }],
  ['StartRotation: after storing AWSPENDING', { port: 'secrets', method: 'putPending' }],
  ['StartRotation: after the self-test', { port: 'stytch', method: 'selfTest' }],
  ['PublishPending: after marking pending', { port: 'ledger', method: 'updateRotation', nth: 3 }],
  ['PublishPending: after Rotation Pending', { port: 'events', method: 'publish', nth: 2 }],
  ['AwaitConsumers: after keeping the task token', { port: 'ledger', method: 'updateRotation', nth: 4 }],
  ['CompleteRotation: after moving AWSCURRENT', { port: 'secrets', method: 'promotePending' }],
  ['CompleteRotation: after Stytch rotate', { port: 'stytch', method: 'completeRotation' }],
  ['CompleteRotation: after proving the old secret dead', { port: 'stytch', method: 'authenticates' }],
  ['CompleteRotation: after recording completion', { port: 'ledger', method: 'updateRotation', nth: 5 }],
  ['CompleteRotation: after releasing the lock', { port: 'ledger', method: 'releaseLock' }],
  ['CompleteRotation: after Rotation Completed', { port: 'events', method: 'publish', nth: 3 }],
];

const CANCEL_PATH: readonly (readonly [string, CrashPoint])[] = [
  ['CancelRotation: after removing AWSPENDING', { port: 'secrets', method: 'removePending' }],
  ['CancelRotation: after Stytch rotate/cancel', { port: 'stytch', method: 'cancelRotation' }],
  ['CancelRotation: after releasing the lock', { port: 'ledger', method: 'releaseLock' }],
];

const clientFor = (index: number, path: string) => `m2m-client-test-crash-${path}-${index}`;

describe('Scenario: a crash and a rerun at every step boundary', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld([
      ...COMPLETE_PATH.map((_, i) => ({ clientId: clientFor(i, 'complete') })),
      ...CANCEL_PATH.map((_, i) => ({
        clientId: clientFor(i, 'cancel'),
        policy: { expectedConsumers: ['api'] },
      })),
    ]);
  }, 120_000);
  afterAll(() => world?.stop());

  it.each(COMPLETE_PATH.map(([label, point], i) => [label, point, i] as const))(
    'completes after a crash %s',
    async (_label, point, index) => {
      // Prepare
      const clientId = clientFor(index, 'complete');
      world.crashAfter(point);

      // Act
      const execution = await world.run({ clientId, trigger: 'schedule' });

      // Assess
      expect(world.crashed()).toBe(true);
      expect(outputOf(execution)).toMatchObject({ outcome: 'completed', clientId });
      expect(await world.deps.ledger.getLock(clientId)).toBeNull();
      await world.assertInvariants([clientId]);
    },
  );

  it.each(CANCEL_PATH.map(([label, point], i) => [label, point, i] as const))(
    'cancels after a crash %s',
    async (_label, point, index) => {
      // Prepare
      const clientId = clientFor(index, 'cancel');
      const { executionArn } = world.executor.startExecution({ input: { clientId, trigger: 'schedule' } });
      const pending = await waitForEvent(world, 'Rotation Pending', clientId);
      world.crashAfter(point);

      // Act
      await world.report(healthReport(pending, 'api', false, 'cannot mint with the pending secret'));
      const execution = await world.executor.waitForExecution(executionArn);

      // Assess
      expect(world.crashed()).toBe(true);
      expect(outputOf(execution)).toMatchObject({ outcome: 'cancelled', reason: 'consumer_unhealthy' });
      expect(await world.deps.ledger.getLock(clientId)).toBeNull();
      await world.assertInvariants([clientId]);
    },
  );
});
