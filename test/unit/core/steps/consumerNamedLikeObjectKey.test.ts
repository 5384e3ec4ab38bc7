import { describe, expect, it } from 'vitest';
import { decideWait } from '#core/decision.js';
import { ConsumerNameSchema } from '#core/model.js';
import { ClientPolicySchema } from '#core/policy.js';
import type { RotationContext } from '#core/state.js';
import { awaitConsumers } from '#core/steps/awaitConsumers.js';
import { publishPending } from '#core/steps/publishPending.js';
import { startRotation } from '#core/steps/startRotation.js';
import { fakeDeps } from '../../../support/fakes.js';
import { reportAsItself } from './reportAsItself.js';

/**
 * Consumer names that are also properties of every plain object (`constructor`, `toString`, …):
 * the reports are keyed by consumer name, so a lookup that is not own-property based would find
 * `Object.prototype`'s member and take it for a report.
 */

const CLIENT = 'm2m-client-test-billing';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:rotation:run-proto';

async function waitingRotation(expectedConsumers: string[], trigger: 'schedule' | 'leak' = 'schedule') {
  const t = fakeDeps({ [CLIENT]: { kind: 'm2m', policy: { expectedConsumers } } });
  const started = await startRotation(t.deps, {
    input: { clientId: CLIENT, trigger, requestedBy: 'test' },
    executionId: EXECUTION,
  });
  const rotation = await publishPending(t.deps, { rotation: started });
  const waited = await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });
  return { ...t, rotation, waited };
}

function report(rotation: RotationContext, consumer: string, healthy: boolean) {
  return {
    clientId: rotation.clientId,
    rotationId: rotation.rotationId,
    pendingVersionId: rotation.pendingVersionId,
    consumer,
    healthy,
    ...(healthy ? {} : { detail: `${consumer}: token rejected` }),
  };
}

describe('Consumers named like members of Object.prototype', () => {
  it('waits for "constructor" and "toString", and completes only once both reported healthy', async () => {
    // Prepare
    const t = await waitingRotation(['constructor', 'toString']);

    // Act
    const first = await reportAsItself(t.deps, report(t.rotation, 'constructor', true));
    const callbacksAfterFirst = [...t.callbacks.calls];
    const second = await reportAsItself(t.deps, report(t.rotation, 'toString', true));

    // Assess
    expect(t.waited).toEqual({ decision: 'waiting' });
    expect(first).toEqual({ accepted: true, decision: 'waiting' });
    expect(callbacksAfterFirst).toEqual([]);
    expect(second).toEqual({ accepted: true, decision: 'healthy' });
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'all_consumers_healthy' } },
    ]);
  });

  it('cancels when "valueOf" reports unhealthy, naming it', async () => {
    // Prepare
    const t = await waitingRotation(['constructor', 'toString', 'valueOf', 'hasOwnProperty']);
    await reportAsItself(t.deps, report(t.rotation, 'constructor', true));

    // Act
    const result = await reportAsItself(t.deps, report(t.rotation, 'valueOf', false));

    // Assess
    expect(t.waited).toEqual({ decision: 'waiting' });
    expect(result).toEqual({ accepted: true, decision: 'unhealthy' });
    expect(t.callbacks.calls).toHaveLength(1);
    const failure = t.callbacks.calls[0]?.payload as { error: string; cause: string } | undefined;
    expect(failure?.error).toBe('ConsumerUnhealthy');
    expect(JSON.parse(failure?.cause ?? '{}')).toEqual({
      consumer: 'valueOf',
      detail: 'valueOf: token rejected',
    });
  });

  it('keeps a leak rotation waiting until "constructor" and "toString" both answered', async () => {
    // Prepare
    const t = await waitingRotation(['constructor', 'toString'], 'leak');

    // Act
    const first = await reportAsItself(t.deps, report(t.rotation, 'toString', true));
    const second = await reportAsItself(t.deps, report(t.rotation, 'constructor', true));

    // Assess
    expect(t.waited).toEqual({ decision: 'waiting' });
    expect(first.accepted && first.decision).toBe('waiting');
    expect(second.accepted && second.decision).toBe('healthy');
  });

  it('decides "waiting" for a record without reports, whatever the names', () => {
    // Prepare
    const expectedConsumers = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'];

    // Act
    const decisions = (['schedule', 'leak'] as const).map((trigger) =>
      decideWait({
        clientId: CLIENT,
        rotationId: '6a7e3b0e-1d2c-4f00-9a6b-2f1e0c9d8b7a',
        clientKind: 'm2m',
        trigger,
        executionId: EXECUTION,
        status: 'pending',
        steps: { started: '2026-11-25T12:00:00.000Z' },
        expectedConsumers,
        reports: {},
      }),
    );

    // Assess
    expect(decisions).toEqual([{ kind: 'waiting' }, { kind: 'waiting' }]);
  });

  it('accepts these names as consumer names, and refuses "__proto__" in the policy and in a report', async () => {
    // Prepare
    const t = await waitingRotation(['constructor']);
    const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty'];

    // Act
    const accepted = names.map((name) => ConsumerNameSchema.safeParse(name).success);
    const policyWithProto = ClientPolicySchema.safeParse({ expectedConsumers: ['__proto__'] });
    const protoReport = reportAsItself(t.deps, report(t.rotation, '__proto__', true));

    // Assess
    expect(accepted).toEqual([true, true, true, true]);
    expect(policyWithProto.success).toBe(false);
    await expect(protoReport).rejects.toMatchObject({ name: 'InvalidInputError' });
    expect(t.callbacks.calls).toEqual([]);
  });
});
