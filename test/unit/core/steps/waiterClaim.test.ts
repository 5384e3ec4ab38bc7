import { describe, expect, it } from 'vitest';
import { answerWaitIfDecided } from '#core/decision.js';
import type { LedgerPort } from '#core/ports.js';
import type { RotationContext } from '#core/state.js';
import { awaitConsumers } from '#core/steps/awaitConsumers.js';
import { publishPending } from '#core/steps/publishPending.js';
import { startRotation } from '#core/steps/startRotation.js';
import { fakeDeps } from '../../../support/fakes.js';
import { reportAsItself } from './reportAsItself.js';

const CLIENT = 'm2m-client-test-billing';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:rotation:run-waiter';
const NO_CONSUMERS = { kind: 'succeed', token: 'token-1', payload: { reason: 'no_consumers_expected' } };

/**
 * The ledger writes of PublishPending and AwaitConsumers: PublishPending writes nothing, and the
 * waiter of a rotation that expects no consumer keeps its token, marks the rotation pending and
 * claims the decision in one write, then answers without recording the answer (Step Functions
 * retries it until it has). The task is still answered once: nobody else sends a waiter's answer.
 */
describe('Steps: the waiter claims a wait its own input decides', () => {
  /**
   * A started rotation (its pending secret stored), every ledger call counted. StartRotation's own
   * claim is refused here, as for an execution started before StartRotation decided the wait, or a
   * start whose claim a leak beat: the wait decides, as these tests are about.
   */
  async function started(expectedConsumers: string[] = []) {
    const t = fakeDeps({ [CLIENT]: { kind: 'm2m', policy: { expectedConsumers } } });
    const noClaimAtStart = new Proxy(t.ledger, {
      get(target, property, receiver) {
        if (property === 'recordStepAndClaim') return async () => false;
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as LedgerPort;
    const rotation = await startRotation(
      { ...t.deps, ledger: noClaimAtStart },
      { input: { clientId: CLIENT, trigger: 'schedule', requestedBy: 'test' }, executionId: EXECUTION },
    );
    expect(rotation).not.toHaveProperty('decided');
    const ledgerCalls: string[] = [];
    const ledger = new Proxy(t.ledger, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          ledgerCalls.push(String(property));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as LedgerPort;
    const deps = { ...t.deps, ledger };
    const record = () => t.ledger.getRotation(CLIENT, rotation.rotationId);
    /** A leak escalates the rotation and answers its wait, as the leak intake does. */
    const leak = async (kind: 'complete' | 'cancel') => {
      const escalated = await t.ledger.escalateRotation(
        CLIENT,
        rotation.rotationId,
        kind,
        t.clock.now().toISOString(),
      );
      if (escalated !== null) await answerWaitIfDecided(deps, escalated);
      return escalated;
    };
    return { ...t, deps, rotation, ledgerCalls, record, leak };
  }

  function report(rotation: RotationContext, consumer: string, healthy: boolean) {
    const { clientId, rotationId, pendingVersionId } = rotation;
    return { clientId, rotationId, pendingVersionId, consumer, healthy };
  }

  it('PublishPending writes nothing; AwaitConsumers makes one write and one callback', async () => {
    // Prepare
    const t = await started();

    // Act
    const rotation = await publishPending(t.deps, { rotation: t.rotation });
    const afterPublish = [...t.ledgerCalls];
    const result = await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

    // Assess
    expect(afterPublish).toEqual([]);
    expect(t.ledgerCalls).toEqual(['keepTokenAndClaim']);
    expect(result).toEqual({ decision: 'healthy' });
    expect(t.callbacks.calls).toEqual([NO_CONSUMERS]);
    const now = t.clock.now().toISOString();
    expect(await t.record()).toMatchObject({
      status: 'pending',
      taskToken: 'token-1',
      steps: { pending: now, awaiting: now },
      decidedAt: now,
      decision: { kind: 'succeed', reason: 'no_consumers_expected' },
      decidedBy: 'waiter',
    });
    expect(await t.record()).not.toHaveProperty('answeredAt');
    expect(t.events.types()).toEqual(['Rotation Started', 'Rotation Pending']);
  });

  it.each(['complete', 'cancel'] as const)(
    'a leak (%s) after the waiter answered is kept on the rotation and sends nothing more',
    async (kind) => {
      // Prepare
      const t = await started();
      const rotation = await publishPending(t.deps, { rotation: t.rotation });
      await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

      // Act
      const escalated = await t.leak(kind);

      // Assess
      expect(escalated).not.toBeNull();
      expect(await t.record()).toHaveProperty(kind === 'complete' ? 'escalatedComplete' : 'escalatedCancel');
      expect(t.callbacks.calls).toEqual([NO_CONSUMERS]);
    },
  );

  it('a leak of the pending secret before the wait fails the task (the separate writes), once', async () => {
    // Prepare
    const t = await started();
    const rotation = await publishPending(t.deps, { rotation: t.rotation });
    await t.leak('cancel');

    // Act
    const result = await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

    // Assess
    expect(result).toEqual({ decision: 'leak_of_pending' });
    expect(t.callbacks.calls).toEqual([
      {
        kind: 'fail',
        token: 'token-1',
        payload: {
          error: 'LeakOfPendingSecret',
          cause: JSON.stringify({ pendingLastFour: rotation.pendingLastFour }),
        },
      },
    ]);
    expect(t.ledgerCalls).toEqual(['keepTokenAndClaim', 'updateRotation', 'claimDecision']);
    expect(await t.record()).toMatchObject({ status: 'pending', taskToken: 'token-1', decidedBy: 'waiter' });
  });

  it('a leak of the current secret before the wait completes it now, once', async () => {
    // Prepare
    const t = await started();
    const rotation = await publishPending(t.deps, { rotation: t.rotation });
    await t.leak('complete');

    // Act
    const result = await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

    // Assess
    expect(result).toEqual({ decision: 'healthy' });
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'leak_escalated' } },
    ]);
  });

  it('a waiter that died between its claim and its answer answers when Step Functions runs it again; nobody else does', async () => {
    // Prepare: the first attempt dies right after its write (the Lambda timed out).
    const t = await started();
    const rotation = await publishPending(t.deps, { rotation: t.rotation });
    const succeed = t.callbacks.succeed.bind(t.callbacks);
    t.callbacks.succeed = async () => {
      throw Object.assign(new Error('Task timed out after 30.00 seconds'), { name: 'Sandbox.Timedout' });
    };
    await expect(awaitConsumers(t.deps, { taskToken: 'token-1', rotation })).rejects.toThrow(
      'Task timed out',
    );
    t.callbacks.succeed = succeed;
    await t.leak('complete');
    expect(t.callbacks.calls).toEqual([]);

    // Act: the retry (a new attempt, a new token)
    const result = await awaitConsumers(t.deps, { taskToken: 'token-2', rotation });
    await t.leak('cancel');

    // Assess: the answer claimed first, to the live token, once
    expect(result.decision).toBe('healthy');
    expect(t.callbacks.calls).toEqual([{ ...NO_CONSUMERS, token: 'token-2' }]);
    expect(await t.record()).toMatchObject({ taskToken: 'token-2', decidedBy: 'waiter' });
  });

  it('reports that decided the wait before the token: the waiter claims and answers, a later report sends nothing', async () => {
    // Prepare
    const t = await started(['billing-api']);
    const rotation = await publishPending(t.deps, { rotation: t.rotation });
    await reportAsItself(t.deps, report(rotation, 'billing-api', true));
    t.ledgerCalls.length = 0;

    // Act
    const result = await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });
    await reportAsItself(t.deps, report(rotation, 'billing-api', false));

    // Assess
    expect(result).toEqual({ decision: 'healthy' });
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'all_consumers_healthy' } },
    ]);
    expect(t.ledgerCalls.slice(0, 2)).toEqual(['updateRotation', 'claimDecision']);
    expect(t.ledgerCalls).not.toContain('markAnswered');
    expect(await t.record()).toMatchObject({ decidedBy: 'waiter' });
  });

  it('with consumers expected, waits after one write', async () => {
    // Prepare
    const t = await started(['billing-api']);
    const rotation = await publishPending(t.deps, { rotation: t.rotation });

    // Act
    const result = await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

    // Assess
    expect(result).toEqual({ decision: 'waiting' });
    expect(t.ledgerCalls).toEqual(['updateRotation']);
    expect(t.callbacks.calls).toEqual([]);
    expect(await t.record()).toMatchObject({ status: 'pending', taskToken: 'token-1' });
  });
});

describe('Steps: StartRotation decides the wait of a rotation that expects no consumer', () => {
  /** fakeDeps with every ledger call counted; `beforeClaim` runs just before StartRotation's claim. */
  function world(
    expectedConsumers: string[],
    beforeClaim?: (t: ReturnType<typeof fakeDeps>) => Promise<void>,
  ) {
    const t = fakeDeps({ [CLIENT]: { kind: 'm2m', policy: { expectedConsumers } } });
    const ledgerCalls: string[] = [];
    const ledger = new Proxy(t.ledger, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          ledgerCalls.push(String(property));
          if (property === 'recordStepAndClaim') await beforeClaim?.(t);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as LedgerPort;
    const start = () =>
      startRotation(
        { ...t.deps, ledger },
        { input: { clientId: CLIENT, trigger: 'schedule', requestedBy: 'test' }, executionId: EXECUTION },
      );
    return { ...t, ledgerCalls, start };
  }

  it('claims it in the write that stores the pending secret: no task token, no second write', async () => {
    // Prepare
    const t = world([]);

    // Act
    const rotation = await t.start();

    // Assess
    expect(rotation.decided).toEqual({ reason: 'no_consumers_expected' });
    expect(t.ledgerCalls.filter((call) => call !== 'getRotation' && call !== 'getLock')).toEqual([
      'beginRotation',
      'recordStepAndClaim',
    ]);
    const now = t.clock.now().toISOString();
    const record = await t.ledger.getRotation(CLIENT, rotation.rotationId);
    expect(record).toMatchObject({
      status: 'pending',
      steps: { stored: now, pending: now },
      decidedAt: now,
      decision: { kind: 'succeed', reason: 'no_consumers_expected' },
      decidedBy: 'waiter',
      pendingVersionId: rotation.rotationId,
    });
    expect(record).not.toHaveProperty('taskToken');
    expect(t.callbacks.calls).toEqual([]);
  });

  it('leaves the decision to the wait when a leak escalated the rotation before the pending secret was recorded', async () => {
    // Prepare: a leak of the stored pending secret lands between its store and its record
    const t = world([], async (deps) => {
      const [record] = await deps.ledger.listRotations(CLIENT, 1);
      await deps.ledger.escalateRotation(
        CLIENT,
        record?.rotationId ?? '',
        'cancel',
        deps.clock.now().toISOString(),
      );
    });

    // Act
    const rotation = await t.start();

    // Assess: the step recorded the secret without deciding; AwaitConsumers will cancel
    expect(rotation).not.toHaveProperty('decided');
    expect(t.ledgerCalls).toContain('recordStep');
    const record = await t.ledger.getRotation(CLIENT, rotation.rotationId);
    expect(record).toMatchObject({ status: 'started', escalatedCancel: expect.any(String) });
    expect(record).not.toHaveProperty('decidedAt');
    expect(record?.steps.stored).toEqual(t.clock.now().toISOString());
  });

  it('decides nothing when consumers are expected (their reports decide)', async () => {
    // Prepare
    const t = world(['billing-api']);

    // Act
    const rotation = await t.start();

    // Assess
    expect(rotation).not.toHaveProperty('decided');
    expect(t.ledgerCalls).not.toContain('recordStepAndClaim');
    expect(await t.ledger.getRotation(CLIENT, rotation.rotationId)).toMatchObject({ status: 'started' });
  });
});
