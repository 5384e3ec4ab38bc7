import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { healthReport, outputOf, waitForEvent } from './support.js';

const CLIENT = 'm2m-client-test-healthy';

describe('Scenario: every consumer reports healthy', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld([
      { clientId: CLIENT, policy: { expectedConsumers: ['billing-api', 'invoice-worker'] } },
    ]);
  });
  afterAll(() => world?.stop());

  it('completes: the new secret is current everywhere and the old one is rejected', async () => {
    // Prepare
    const ref = { clientId: CLIENT, kind: 'm2m' } as const;
    const before = await world.deps.secrets.read(ref, 'AWSCURRENT');
    const { executionArn } = world.executor.startExecution({
      input: { clientId: CLIENT, trigger: 'manual', reason: 'INC-42', requestedBy: 'alice' },
    });

    // Act: the consumers see Rotation Pending and report on the pending secret.
    const pending = await waitForEvent(world, 'Rotation Pending', CLIENT);
    await world.report(healthReport(pending, 'billing-api', true));
    await world.report(healthReport(pending, 'invoice-worker', true));
    const execution = await world.executor.waitForExecution(executionArn);

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(outputOf(execution)).toMatchObject({
      outcome: 'completed',
      reason: 'all_consumers_healthy',
      clientId: CLIENT,
    });
    const after = await world.deps.secrets.read(ref, 'AWSCURRENT');
    expect(after?.clientSecret.lastFour).toBe(
      (pending.detail as { pendingLastFour: string }).pendingLastFour,
    );
    expect(after?.clientSecret.reveal()).not.toBe(before?.clientSecret.reveal());
    expect(world.events.map((e) => e.detailType)).toEqual([
      'Rotation Started',
      'Rotation Pending',
      'Rotation Completed',
    ]);
    const record = await world.deps.ledger.getRotation(
      CLIENT,
      (pending.detail as { rotationId: string }).rotationId,
    );
    expect(record).toMatchObject({
      status: 'completed',
      trigger: 'manual',
      reason: 'INC-42',
      requestedBy: 'alice',
      outcomeReason: 'all_consumers_healthy',
    });
    expect(Object.keys(record?.reports ?? {}).sort()).toEqual(['billing-api', 'invoice-worker']);
    expect(await world.deps.ledger.getLock(CLIENT)).toBeNull();
    await world.assertInvariants([CLIENT]);
  });

  it('walks the expected states, in order', async () => {
    // Act
    const [execution] = world.executor.listExecutions();
    const history = world.executor.getExecutionHistory(execution?.executionArn ?? '');
    const entered = history.events
      .filter((event) => event.type.endsWith('StateEntered'))
      .map(
        (event) => (event as { stateEnteredEventDetails?: { name?: string } }).stateEnteredEventDetails?.name,
      );

    // Assess
    expect(entered).toEqual([
      'Prepare',
      'StartRotation',
      'PublishPending',
      // Consumers are expected: StartRotation left the wait to AwaitConsumers.
      'WaitDecided',
      'AwaitConsumers',
      'Complete: consumers',
      'CompleteRotation',
      'Completed',
    ]);
  });
});
