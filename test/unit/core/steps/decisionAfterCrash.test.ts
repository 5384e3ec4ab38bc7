import { describe, expect, it } from 'vitest';
import { awaitConsumers } from '#core/steps/awaitConsumers.js';
import { publishPending } from '#core/steps/publishPending.js';
import { startRotation } from '#core/steps/startRotation.js';
import { fakeDeps } from '../../../support/fakes.js';
import { reportAsItself } from './reportAsItself.js';

const CLIENT = 'm2m-client-test-billing';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:rotation:run-claim-crash';

/**
 * The health aggregator is invoked asynchronously: when it dies after claiming the decision and
 * before answering the task, EventBridge invokes it again with the same report. That retry must
 * answer the task (with the claimed answer), or an all-healthy rotation waits for its deadline
 * and is cancelled.
 */
describe('Function: answerWaitIfDecided after a crash between the claim and the answer', () => {
  async function waiting() {
    const t = fakeDeps({ [CLIENT]: { kind: 'm2m', policy: { expectedConsumers: ['api'] } } });
    const started = await startRotation(t.deps, {
      input: { clientId: CLIENT, trigger: 'schedule' },
      executionId: EXECUTION,
    });
    const rotation = await publishPending(t.deps, { rotation: started });
    await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });
    const report = {
      clientId: rotation.clientId,
      rotationId: rotation.rotationId,
      pendingVersionId: rotation.pendingVersionId,
      consumer: 'api',
      healthy: true,
    };
    return { ...t, rotation, report };
  }

  it('the retried report answers the task the dead decider claimed but never answered', async () => {
    // Prepare: the first delivery dies right after the claim (the Lambda timed out).
    const t = await waiting();
    const succeed = t.callbacks.succeed.bind(t.callbacks);
    t.callbacks.succeed = async () => {
      throw Object.assign(new Error('Task timed out after 30.00 seconds'), { name: 'Sandbox.Timedout' });
    };
    await expect(reportAsItself(t.deps, t.report)).rejects.toThrow('Task timed out');
    t.callbacks.succeed = succeed;
    expect(t.callbacks.calls).toEqual([]);

    // Act: EventBridge's retry of the same report
    await reportAsItself(t.deps, t.report);

    // Assess
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'all_consumers_healthy' } },
    ]);
    expect((await t.ledger.getRotation(CLIENT, t.rotation.rotationId))?.answeredAt).toBeDefined();
  });

  it('a report after the task was answered sends nothing more', async () => {
    // Prepare
    const t = await waiting();
    await reportAsItself(t.deps, t.report);

    // Act
    await reportAsItself(t.deps, t.report);

    // Assess
    expect(t.callbacks.calls).toHaveLength(1);
  });
});
