import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { healthReport, outputOf, waitForEvent } from './support.js';

const CLIENT = 'm2m-client-test-unhealthy';

describe('Scenario: a consumer reports unhealthy', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld([
      { clientId: CLIENT, policy: { expectedConsumers: ['billing-api', 'invoice-worker'] } },
    ]);
  });
  afterAll(() => world?.stop());

  it('cancels: no AWSPENDING is left, the old secret still works, the next one is rejected', async () => {
    // Prepare
    const ref = { clientId: CLIENT, kind: 'm2m' } as const;
    const before = await world.deps.secrets.read(ref, 'AWSCURRENT');
    const { executionArn } = world.executor.startExecution({
      input: { clientId: CLIENT, trigger: 'schedule' },
    });
    const pending = await waitForEvent(world, 'Rotation Pending', CLIENT);
    const next = await world.deps.secrets.read(ref, 'AWSPENDING');

    // Act
    await world.report(healthReport(pending, 'billing-api', true));
    await world.report(healthReport(pending, 'invoice-worker', false, 'token rejected: invalid_client'));
    const execution = await world.executor.waitForExecution(executionArn);

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(outputOf(execution)).toMatchObject({ outcome: 'cancelled', reason: 'consumer_unhealthy' });
    expect(await world.deps.secrets.read(ref, 'AWSPENDING')).toBeNull();
    expect((await world.deps.secrets.read(ref, 'AWSCURRENT'))?.clientSecret.reveal()).toBe(
      before?.clientSecret.reveal(),
    );
    expect(next).not.toBeNull();
    await expect(
      world.stytch.token({ clientId: CLIENT, clientSecret: next?.clientSecret ?? '' }),
    ).rejects.toMatchObject({
      errorType: 'invalid_client',
    });
    const cancelled = await waitForEvent(world, 'Rotation Cancelled', CLIENT);
    expect(cancelled.detail).toMatchObject({ reason: 'consumer_unhealthy' });
    expect(JSON.stringify(cancelled.detail)).toContain('invoice-worker');
    await world.assertInvariants([CLIENT]);
  });
});
