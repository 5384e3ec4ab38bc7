import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NotRotatingError } from '#core/rotationErrors.js';
import { type RotationContext, rotationIdFor } from '#core/state.js';
import { awaitConsumers } from '#core/steps/awaitConsumers.js';
import { cancelRotation } from '#core/steps/cancelRotation.js';
import { completeRotation } from '#core/steps/completeRotation.js';
import { publishPending } from '#core/steps/publishPending.js';
import { recordFailure } from '#core/steps/recordFailure.js';
import { startRotation } from '#core/steps/startRotation.js';
import { fakeDeps } from '../../../support/fakes.js';
import { reportAsItself } from './reportAsItself.js';

const CLIENT = 'm2m-client-test-billing';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:rotation:run-1';

function setup(expectedConsumers: string[] = ['billing-api', 'invoice-worker']) {
  const fakes = fakeDeps({ [CLIENT]: { kind: 'm2m', policy: { expectedConsumers } } });
  const start = (trigger: 'schedule' | 'leak' | 'manual' = 'schedule', executionId = EXECUTION) =>
    startRotation(fakes.deps, { input: { clientId: CLIENT, trigger, requestedBy: 'test' }, executionId });
  /** Everything the run exposed outside the secret store: no secret may be in it. */
  const captured = (...extra: unknown[]) =>
    [
      JSON.stringify(fakes.events.events),
      fakes.ledger.dump(),
      fakes.secrets.dump(),
      fakes.logger.lines.join('\n'),
      JSON.stringify(fakes.callbacks.calls),
      ...extra.map((x) => `${JSON.stringify(x)}\n${inspect(x, { depth: Infinity, showHidden: true })}`),
    ].join('\n');
  const assertNoSecretIn = (text: string) => {
    for (const secret of fakes.stytch.issued) expect(text).not.toContain(secret);
  };
  return { ...fakes, start, captured, assertNoSecretIn };
}

function report(rotation: RotationContext, consumer: string, healthy: boolean, overrides: object = {}) {
  return {
    clientId: rotation.clientId,
    rotationId: rotation.rotationId,
    pendingVersionId: rotation.pendingVersionId,
    consumer,
    healthy,
    ...(healthy ? {} : { detail: `${consumer}: token rejected` }),
    ...overrides,
  };
}

describe('Step: startRotation', () => {
  it('stores the next secret as AWSPENDING under the rotation id and returns no secret', async () => {
    // Prepare
    const t = setup();

    // Act
    const rotation = await t.start();

    // Assess
    const stytchSecrets = t.stytch.secretsOf(CLIENT);
    const pending = await t.secrets.read({ clientId: CLIENT, kind: 'm2m' }, 'AWSPENDING');
    expect(rotation.rotationId).toBe(rotationIdFor(EXECUTION));
    expect(rotation.pendingVersionId).toBe(rotation.rotationId);
    expect(pending?.clientSecret.reveal()).toBe(stytchSecrets.next);
    expect(rotation.pendingLastFour).toBe(stytchSecrets.next?.slice(-4));
    expect(rotation.previousLastFour).toBe(stytchSecrets.current.slice(-4));
    expect(rotation.policy).toEqual({
      onDeadline: 'cancel',
      deadlineSeconds: 3600,
      expectedConsumers: ['billing-api', 'invoice-worker'],
    });
    expect(rotation.deadline).toBe('2026-11-25T13:00:00.000Z');
    expect(t.events.types()).toEqual(['Rotation Started']);
    t.assertNoSecretIn(t.captured(rotation));
  });

  it('gives a leak rotation the fail-secure policy', async () => {
    // Act
    const rotation = await setup().start('leak');

    // Assess
    expect(rotation.policy.onDeadline).toBe('complete');
    expect(rotation.policy.deadlineSeconds).toBe(600);
  });

  it('recovers when the rotate/start response was lost: cancels at Stytch and starts again', async () => {
    // Prepare: Stytch commits the start, the response never arrives.
    const t = setup();
    t.stytch.failNext(
      'startRotation',
      Object.assign(new Error('socket hang up'), { name: 'StytchNetworkError' }),
      {
        commit: true,
      },
    );
    await expect(t.start()).rejects.toThrow('socket hang up');
    const lostNext = t.stytch.secretsOf(CLIENT).next;

    // Act: the state machine's Retry runs the step again.
    const rotation = await t.start();

    // Assess
    const stytchSecrets = t.stytch.secretsOf(CLIENT);
    expect(lostNext).not.toBeNull();
    expect(stytchSecrets.next).not.toBe(lostNext);
    expect(rotation.pendingLastFour).toBe(stytchSecrets.next?.slice(-4));
    expect(t.stytch.calls.filter((c) => c.startsWith('cancelRotation'))).toHaveLength(1);
    t.assertNoSecretIn(t.captured(rotation));
  });

  it('reuses the pending secret it already stored when re-run after a crash', async () => {
    // Prepare
    const t = setup();
    const first = await t.start();

    // Act
    const again = await t.start();

    // Assess
    expect(again.pendingLastFour).toBe(first.pendingLastFour);
    expect(t.stytch.calls.filter((c) => c.startsWith('startRotation'))).toHaveLength(1);
    expect(t.events.types()).toEqual(['Rotation Started']);
  });

  it('refuses a second rotation of a client while one holds the lock', async () => {
    // Prepare
    const t = setup();
    await t.start('schedule', 'execution-a');

    // Act & Assess
    await expect(t.start('manual', 'execution-b')).rejects.toMatchObject({
      name: 'RotationInProgressError',
      retryable: false,
    });
    expect(t.stytch.calls.filter((c) => c.startsWith('startRotation'))).toHaveLength(1);
  });

  it.each([
    ['a malformed input', { clientId: CLIENT, trigger: 'cron' }, 'InvalidInputError'],
    ['an unknown client', { clientId: 'm2m-client-test-other', trigger: 'schedule' }, 'UnknownClientError'],
  ])('rejects %s before touching anything', async (_label, input, name) => {
    // Prepare
    const t = setup();

    // Act & Assess
    await expect(startRotation(t.deps, { input, executionId: EXECUTION })).rejects.toMatchObject({ name });
    expect(t.stytch.calls).toEqual([]);
    expect(await t.ledger.getLock(CLIENT)).toBeNull();
  });
});

describe('Steps: publishPending, awaitConsumers, recordHealthReport', () => {
  it('answers the wait with success once every expected consumer reported healthy', async () => {
    // Prepare
    const t = setup();
    const rotation = await publishPending(t.deps, { rotation: await t.start() });
    await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

    // Act
    const first = await reportAsItself(t.deps, report(rotation, 'billing-api', true));
    const second = await reportAsItself(t.deps, report(rotation, 'invoice-worker', true));

    // Assess
    expect(first).toEqual({ accepted: true, decision: 'waiting' });
    expect(second).toEqual({ accepted: true, decision: 'healthy' });
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'all_consumers_healthy' } },
    ]);
    expect(t.events.types()).toEqual(['Rotation Started', 'Rotation Pending']);
  });

  it('fails the wait at the first unhealthy report, naming the consumer', async () => {
    // Prepare
    const t = setup();
    const rotation = await publishPending(t.deps, { rotation: await t.start() });
    await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

    // Act
    await reportAsItself(t.deps, report(rotation, 'invoice-worker', false));

    // Assess
    expect(t.callbacks.calls).toHaveLength(1);
    expect(t.callbacks.calls[0]).toMatchObject({ kind: 'fail', payload: { error: 'ConsumerUnhealthy' } });
    const failure = t.callbacks.calls[0]?.payload as { cause: string } | undefined;
    expect(JSON.parse(failure?.cause ?? '{}')).toEqual({
      consumer: 'invoice-worker',
      detail: 'invoice-worker: token rejected',
    });
  });

  it('counts reports that arrive before the task token, and answers when the token comes', async () => {
    // Prepare
    const t = setup();
    const rotation = await publishPending(t.deps, { rotation: await t.start() });
    await reportAsItself(t.deps, report(rotation, 'billing-api', true));
    await reportAsItself(t.deps, report(rotation, 'invoice-worker', true));

    // Act
    const result = await awaitConsumers(t.deps, { taskToken: 'token-late', rotation });

    // Assess
    expect(result).toEqual({ decision: 'healthy' });
    expect(t.callbacks.calls.map((c) => c.token)).toEqual(['token-late']);
  });

  it('answers at once when no consumer is expected', async () => {
    // Prepare
    const t = setup([]);
    const rotation = await publishPending(t.deps, { rotation: await t.start() });

    // Act
    await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

    // Assess
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'no_consumers_expected' } },
    ]);
  });

  it('answers the task once even when reports keep coming', async () => {
    // Prepare
    const t = setup(['billing-api']);
    const rotation = await publishPending(t.deps, { rotation: await t.start() });
    await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

    // Act
    await reportAsItself(t.deps, report(rotation, 'billing-api', true));
    await reportAsItself(t.deps, report(rotation, 'billing-api', false));

    // Assess
    expect(t.callbacks.calls).toHaveLength(1);
  });

  it.each([
    ['another rotation', { rotationId: '00000000-0000-4000-8000-000000000000' }, 'unknown_rotation'],
    ['a wrong version id', { pendingVersionId: '00000000-0000-4000-8000-000000000001' }, 'wrong_version'],
    ['an unknown consumer', { consumer: 'intruder' }, 'unexpected_consumer'],
  ])('rejects a report for %s without changing anything', async (_label, overrides, rejection) => {
    // Prepare
    const t = setup();
    const rotation = await publishPending(t.deps, { rotation: await t.start() });
    await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });
    const before = t.ledger.dump();

    // Act
    const result = await reportAsItself(t.deps, report(rotation, 'billing-api', true, overrides));

    // Assess
    expect(result).toEqual({ accepted: false, rejection });
    expect(t.ledger.dump()).toBe(before);
    expect(t.callbacks.calls).toEqual([]);
  });

  it('counts a report that arrives before PublishPending (a consumer polling found AWSPENDING) once the wait begins', async () => {
    // Prepare: the pending secret is stored, but the rotation is not marked pending yet.
    const t = setup();
    const started = await t.start();

    // Act
    const early = [
      await reportAsItself(t.deps, report(started, 'billing-api', true)),
      await reportAsItself(t.deps, report(started, 'invoice-worker', true)),
    ];
    const callbacksBeforeWait = [...t.callbacks.calls];
    const rotation = await publishPending(t.deps, { rotation: started });
    await awaitConsumers(t.deps, { taskToken: 'token-1', rotation });

    // Assess
    expect(early.map((result) => result.accepted)).toEqual([true, true]);
    expect(callbacksBeforeWait).toEqual([]);
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'all_consumers_healthy' } },
    ]);
  });

  it('rejects a report for a rotation that has ended', async () => {
    // Prepare
    const t = setup();
    const rotation = await publishPending(t.deps, { rotation: await t.start() });
    await cancelRotation(t.deps, {
      input: { clientId: CLIENT, trigger: 'schedule' },
      executionId: EXECUTION,
      rotation,
      cancellation: { reason: 'consumer_unhealthy' },
    });

    // Act
    const result = await reportAsItself(t.deps, report(rotation, 'billing-api', true));

    // Assess
    expect(result).toEqual({ accepted: false, rejection: 'not_pending' });
  });

  it('throws on a malformed report (it goes to the dead-letter queue)', async () => {
    // Prepare
    const t = setup();

    // Act & Assess
    await expect(reportAsItself(t.deps, { clientId: CLIENT, healthy: 'yes' })).rejects.toMatchObject({
      name: 'InvalidInputError',
    });
  });
});

describe('Step: completeRotation', () => {
  it('moves AWSCURRENT before completing at Stytch, and the old secret stops working', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    const old = t.stytch.secretsOf(CLIENT).current;

    // Act
    const outcome = await completeRotation(t.deps, {
      rotation,
      completion: { reason: 'all_consumers_healthy' },
    });

    // Assess
    const ref = { clientId: CLIENT, kind: 'm2m' } as const;
    expect(outcome).toEqual({
      outcome: 'completed',
      reason: 'all_consumers_healthy',
      rotationId: rotation.rotationId,
      clientId: CLIENT,
    });
    expect((await t.secrets.read(ref, 'AWSCURRENT'))?.clientSecret.lastFour).toBe(rotation.pendingLastFour);
    expect((await t.secrets.read(ref, 'AWSPREVIOUS'))?.clientSecret.reveal()).toBe(old);
    expect(await t.secrets.read(ref, 'AWSPENDING')).toBeNull();
    expect(t.stytch.secretsOf(CLIENT)).toEqual({ current: expect.stringMatching(/.{40,}/), next: null });
    expect(t.secrets.calls.indexOf(`promotePending:${rotation.rotationId}`)).toBeGreaterThanOrEqual(0);
    expect(t.stytch.calls.at(-1)).toBe(`completeRotation:${CLIENT}`);
    expect(await t.ledger.getLock(CLIENT)).toBeNull();
    expect(t.events.types().at(-1)).toBe('Rotation Completed');
    t.assertNoSecretIn(t.captured(outcome));
  });

  it('converges when re-run after Stytch completed but the step crashed', async () => {
    // Prepare: Stytch completes, then the response is lost.
    const t = setup();
    const rotation = await t.start();
    t.stytch.failNext('completeRotation', new Error('connection reset'), { commit: true });
    await expect(
      completeRotation(t.deps, { rotation, completion: { reason: 'all_consumers_healthy' } }),
    ).rejects.toThrow('connection reset');

    // Act
    const outcome = await completeRotation(t.deps, {
      rotation,
      completion: { reason: 'all_consumers_healthy' },
    });

    // Assess
    expect(outcome.outcome).toBe('completed');
    expect(t.stytch.secretsOf(CLIENT).current.slice(-4)).toBe(rotation.pendingLastFour);
  });

  it('refuses to complete when its pending version is gone', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    await t.secrets.removePending({ clientId: CLIENT, kind: 'm2m' }, rotation.pendingVersionId);

    // Act & Assess
    await expect(
      completeRotation(t.deps, { rotation, completion: { reason: 'all_consumers_healthy' } }),
    ).rejects.toMatchObject({ name: 'InconsistentStateError' });
    expect(t.stytch.calls).not.toContain(`completeRotation:${CLIENT}`);
  });
});

describe('Step: cancelRotation', () => {
  it('removes AWSPENDING before cancelling at Stytch; the current secret stays', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    const current = t.stytch.secretsOf(CLIENT).current;

    // Act
    const outcome = await cancelRotation(t.deps, {
      input: { clientId: CLIENT, trigger: 'schedule' },
      executionId: EXECUTION,
      rotation,
      error: { Error: 'ConsumerUnhealthy', Cause: '{"consumer":"billing-api","detail":"401"}' },
      cancellation: { reason: 'consumer_unhealthy' },
    });

    // Assess
    expect(outcome.outcome).toBe('cancelled');
    expect(t.stytch.secretsOf(CLIENT)).toEqual({ current, next: null });
    expect(await t.secrets.read({ clientId: CLIENT, kind: 'm2m' }, 'AWSPENDING')).toBeNull();
    expect(t.secrets.calls).toContain(`removePending:${rotation.rotationId}`);
    // The cancel is the last change; a read after it confirms Stytch agrees.
    expect(t.stytch.calls.filter((call) => !call.startsWith('getSecretState')).at(-1)).toBe(
      `cancelRotation:${CLIENT}`,
    );
    expect(await t.ledger.getLock(CLIENT)).toBeNull();
    expect((await t.ledger.getRotation(CLIENT, rotation.rotationId))?.status).toBe('cancelled');
    expect(t.events.types().at(-1)).toBe('Rotation Cancelled');
  });

  it('undoes a start that failed after Stytch started but before the secret was stored', async () => {
    // Prepare: the store fails permanently after rotate/start succeeded.
    const t = setup();
    const putPending = t.secrets.putPending.bind(t.secrets);
    t.secrets.putPending = async () => {
      throw new Error('AccessDeniedException');
    };
    await expect(t.start()).rejects.toThrow('AccessDeniedException');
    t.secrets.putPending = putPending;

    // Act
    const outcome = await cancelRotation(t.deps, {
      input: { clientId: CLIENT, trigger: 'schedule' },
      executionId: EXECUTION,
      error: { Error: 'Error', Cause: 'AccessDeniedException' },
      cancellation: { reason: 'error' },
    });

    // Assess
    expect(outcome.outcome).toBe('cancelled');
    expect(t.stytch.secretsOf(CLIENT).next).toBeNull();
    expect(await t.ledger.getLock(CLIENT)).toBeNull();
  });

  it('does nothing when the start never took the lock', async () => {
    // Prepare
    const t = setup();

    // Act
    const outcome = await cancelRotation(t.deps, {
      input: { clientId: CLIENT, trigger: 'schedule' },
      executionId: EXECUTION,
      cancellation: { reason: 'error' },
    });

    // Assess
    expect(outcome.outcome).toBe('cancelled');
    expect(t.stytch.calls).toEqual([]);
    expect(t.events.events).toEqual([]);
  });

  it('tolerates Stytch having cancelled already', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    // Someone cancelled it between our read and our call: Stytch answers "not rotating".
    t.stytch.failNext('cancelRotation', new NotRotatingError(CLIENT), { commit: true });

    // Act
    const outcome = await cancelRotation(t.deps, {
      input: { clientId: CLIENT, trigger: 'schedule' },
      executionId: EXECUTION,
      rotation,
      cancellation: { reason: 'deadline_fail_safe' },
    });

    // Assess
    expect(outcome.outcome).toBe('cancelled');
  });

  it('refuses to cancel a rotation whose version is already current', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();
    await t.secrets.promotePending({ clientId: CLIENT, kind: 'm2m' }, rotation.pendingVersionId);

    // Act & Assess
    await expect(
      cancelRotation(t.deps, {
        input: { clientId: CLIENT, trigger: 'schedule' },
        executionId: EXECUTION,
        rotation,
        cancellation: { reason: 'error' },
      }),
    ).rejects.toMatchObject({ name: 'InconsistentStateError' });
    expect(t.stytch.calls).not.toContain(`cancelRotation:${CLIENT}`);
  });
});

describe('Step: recordFailure', () => {
  it('marks the rotation failed, announces it and keeps the lock', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.start();

    // Act
    const outcome = await recordFailure(t.deps, {
      input: { clientId: CLIENT, trigger: 'schedule' },
      executionId: EXECUTION,
      rotation,
      error: {
        Error: 'InconsistentStateError',
        Cause: '{"errorType":"InconsistentStateError","errorMessage":"boom"}',
      },
      failedState: 'CancelRotation',
    });

    // Assess
    expect(outcome).toMatchObject({ outcome: 'failed', reason: 'InconsistentStateError' });
    expect((await t.ledger.getRotation(CLIENT, rotation.rotationId))?.error).toEqual({
      name: 'InconsistentStateError',
      message: 'boom',
    });
    expect(t.events.events.at(-1)).toMatchObject({
      detailType: 'Rotation Failed',
      detail: { state: 'CancelRotation', error: { message: 'boom' } },
    });
    expect(await t.ledger.getLock(CLIENT)).not.toBeNull();
  });
});

describe('Function: rotationIdFor', () => {
  it('derives one stable UUID per execution', () => {
    expect(rotationIdFor('a')).toBe(rotationIdFor('a'));
    expect(rotationIdFor('a')).not.toBe(rotationIdFor('b'));
    expect(rotationIdFor('a')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
