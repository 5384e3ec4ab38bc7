import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { healthReport, outputOf, waitForEvent } from './support.js';

describe('Scenario: a Connected App confidential client rotates through the same workflow', () => {
  let world: World;
  let clientId: string;

  beforeAll(async () => {
    world = await createWorld([
      { clientId: 'portal', kind: 'connected_app', policy: { expectedConsumers: ['partner-portal'] } },
    ]);
    clientId = world.ids.portal ?? '';
  });
  afterAll(() => world?.stop());

  it('completes: Stytch and Secrets Manager agree on the new secret', async () => {
    // Prepare
    const ref = { clientId, kind: 'connected_app' } as const;
    const before = await world.deps.secrets.read(ref, 'AWSCURRENT');
    const { executionArn } = world.executor.startExecution({ input: { clientId, trigger: 'manual' } });

    // Act
    const pending = await waitForEvent(world, 'Rotation Pending', clientId);
    await world.report(healthReport(pending, 'partner-portal', true));
    const execution = await world.executor.waitForExecution(executionArn);

    // Assess
    expect(clientId).toMatch(/^connected-app-test-/);
    expect(pending.detail).toMatchObject({ clientKind: 'connected_app' });
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed', clientId });
    const app = await world.stytch.connectedApps.get(clientId);
    const after = await world.deps.secrets.read(ref, 'AWSCURRENT');
    expect(app.clientSecretLastFour).toBe(after?.clientSecret.lastFour);
    expect(after?.clientSecret.reveal()).not.toBe(before?.clientSecret.reveal());
    await world.assertInvariants([clientId]);
  });
});
