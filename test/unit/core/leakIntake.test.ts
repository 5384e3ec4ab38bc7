import { describe, expect, it } from 'vitest';
import type { StepDeps } from '#core/deps.js';
import { consumerSource, EVENT_SOURCES } from '#core/events.js';
import { fingerprintedSecrets } from '#core/fingerprintedSecrets.js';
import { handleLeak, LeakMismatchError } from '#core/leakIntake.js';
import { PREEMPTION_SOURCE } from '#core/preemption.js';
import { InvalidInputError } from '#core/rotationErrors.js';
import type { RotationContext } from '#core/state.js';
import { awaitConsumers } from '#core/steps/awaitConsumers.js';
import { cancelRotation } from '#core/steps/cancelRotation.js';
import { completeRotation } from '#core/steps/completeRotation.js';
import { publishPending } from '#core/steps/publishPending.js';
import { startRotation } from '#core/steps/startRotation.js';
import { fakeDeps } from '../../support/fakes.js';
import { reportAsItself } from './steps/reportAsItself.js';

const CLIENT = 'm2m-client-test-billing';
const OTHER = 'm2m-client-test-reporting';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:rotation:scheduled-1';
const EVENT_ID = '6a7e3b0e-1d2c-4f00-9a6b-2f1e0c9d8b7a';

/** Fakes with the store wrapped as in a Lambda, so fingerprints are indexed as secrets change. */
function setup() {
  const fakes = fakeDeps({
    [CLIENT]: { kind: 'm2m', policy: { expectedConsumers: ['billing-api'] } },
    [OTHER]: { kind: 'm2m', policy: {} },
  });
  const deps: StepDeps = {
    ...fakes.deps,
    secrets: fingerprintedSecrets(fakes.secrets, {
      fingerprints: fakes.fingerprints,
      index: fakes.ledger,
      clock: fakes.clock,
      logger: fakes.logger,
    }),
  };
  /** A leak report as EventBridge delivers it; from an operator unless `source` says otherwise. */
  const leak = (
    detail: Record<string, unknown>,
    id: string = EVENT_ID,
    source: string = EVENT_SOURCES.operator,
  ) => handleLeak(deps, { id, source, detail: { source: 'github-secret-scanning', ...detail } });
  const fingerprintOf = (secret: string) => fakes.fingerprints.fingerprint(secret);
  /** A scheduled rotation of CLIENT that waits for its consumer, with its task token stored. */
  const pendingRotation = async (): Promise<RotationContext> => {
    const { rotation } = { rotation: await start() };
    await publishPending(deps, { rotation });
    await awaitConsumers(deps, { taskToken: 'token-1', rotation });
    return rotation;
  };
  const start = () =>
    startRotation(deps, {
      input: { clientId: CLIENT, trigger: 'schedule', requestedBy: 'eventbridge-scheduler' },
      executionId: EXECUTION,
    });
  return { ...fakes, deps, leak, fingerprintOf, pendingRotation, start };
}

describe('Leak intake: no rotation in progress', () => {
  it('starts a leak rotation for a leak named by client id, named after the event', async () => {
    // Prepare
    const t = setup();

    // Act
    const result = await t.leak({ clientId: CLIENT, reference: 'https://github.com/acme/app/security/1' });

    // Assess
    expect(result).toMatchObject({ result: 'rotation_started', clientId: CLIENT, leaked: 'current' });
    expect(t.workflow.started).toEqual([
      {
        name: `leak-${EVENT_ID}`,
        input: {
          clientId: CLIENT,
          trigger: 'leak',
          reason: 'leak reported by github-secret-scanning: https://github.com/acme/app/security/1',
          requestedBy: 'github-secret-scanning',
        },
      },
    ]);
  });

  it('starts nothing new when the same event is delivered again', async () => {
    // Prepare
    const t = setup();
    await t.leak({ clientId: CLIENT });

    // Act
    const again = await t.leak({ clientId: CLIENT });

    // Assess
    expect(again).toMatchObject({ result: 'rotation_started', alreadyStarted: true });
    expect(t.workflow.started).toHaveLength(1);
  });

  it('finds the client of an unindexed fingerprint among the live secrets; its rotation indexes it', async () => {
    // Prepare: a client enrolled before fingerprints were kept: nothing in the index yet.
    const t = setup();
    const fingerprint = await t.fingerprintOf(t.stytch.secretsOf(OTHER).current);
    expect(await t.ledger.findFingerprint(fingerprint)).toBeNull();

    // Act
    const result = await t.leak({ fingerprint });

    // Assess
    expect(result).toMatchObject({ result: 'rotation_started', clientId: OTHER, leaked: 'current' });
    expect(t.workflow.started.map((execution) => execution.input.clientId)).toEqual([OTHER]);
    await startRotation(t.deps, {
      input: t.workflow.started[0]?.input,
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:rotation:leak-1',
    });
    expect(await t.ledger.findFingerprint(fingerprint)).toMatchObject({ clientId: OTHER, stage: 'current' });
  });

  it('reports no match, and starts nothing, for a fingerprint of no managed secret', async () => {
    // Prepare
    const t = setup();

    // Act
    const result = await t.leak({ fingerprint: await t.fingerprintOf('not-a-managed-secret') });

    // Assess
    expect(result).toEqual({ result: 'no_match' });
    expect(t.workflow.started).toEqual([]);
  });

  it('refuses a client the deployment does not manage, starting nothing', async () => {
    // Prepare
    const t = setup();

    // Act
    const result = await t.leak({ clientId: 'm2m-client-test-unmanaged' });

    // Assess
    expect(result).toEqual({ result: 'unknown_client', clientId: 'm2m-client-test-unmanaged' });
    expect(t.workflow.started).toEqual([]);
  });

  it('refuses a report whose client id and fingerprint name different clients', async () => {
    // Prepare
    const t = setup();
    const fingerprint = await t.fingerprintOf(t.stytch.secretsOf(OTHER).current);

    // Act
    const result = t.leak({ clientId: CLIENT, fingerprint });

    // Assess
    await expect(result).rejects.toBeInstanceOf(LeakMismatchError);
    expect(t.workflow.started).toEqual([]);
  });

  it.each([
    ['neither client id nor fingerprint', { source: 'scanner' }],
    ['an upper-case fingerprint', { fingerprint: 'A'.repeat(64) }],
    ['a fingerprint of the wrong length', { fingerprint: 'a'.repeat(63) }],
    ['an empty source', { clientId: CLIENT, source: '' }],
    ['a leaked value in an unknown field', { clientId: CLIENT, secret: 'leaked-value' }],
  ])('refuses %s as invalid input, starting nothing', async (_, detail) => {
    // Prepare
    const t = setup();

    // Act
    const result = handleLeak(t.deps, { id: EVENT_ID, detail: { source: 'scanner', ...detail } });

    // Assess
    await expect(result).rejects.toBeInstanceOf(InvalidInputError);
    expect(t.workflow.started).toEqual([]);
  });

  it('does nothing for a secret a completed rotation already revoked', async () => {
    // Prepare: rotate once; the old secret is now previous (revoked at Stytch).
    const t = setup();
    const oldSecret = t.stytch.secretsOf(CLIENT).current;
    const rotation = await t.start();
    await completeRotation(t.deps, { rotation, completion: { reason: 'all_consumers_healthy' } });

    // Act
    const result = await t.leak({ fingerprint: await t.fingerprintOf(oldSecret) });

    // Assess
    expect(result).toEqual({ result: 'already_dead', clientId: CLIENT });
    expect(await t.ledger.findFingerprint(await t.fingerprintOf(oldSecret))).toMatchObject({
      stage: 'previous',
    });
    expect(t.workflow.started).toEqual([]);
  });
});

describe('Leak intake: preemption of a rotation in progress', () => {
  it('completes the pending rotation at once when the current secret leaked', async () => {
    // Prepare
    const t = setup();
    const current = t.stytch.secretsOf(CLIENT).current;
    const rotation = await t.pendingRotation();

    // Act
    const result = await t.leak({ fingerprint: await t.fingerprintOf(current) });

    // Assess: the waiting task is answered "complete, leak escalated"; no second rotation.
    expect(result).toEqual({
      result: 'escalated',
      clientId: CLIENT,
      leaked: 'current',
      rotationId: rotation.rotationId,
      escalation: 'complete',
    });
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-1', payload: { reason: 'leak_escalated' } },
    ]);
    expect(t.workflow.started).toEqual([]);
  });

  it('has the rotation complete as soon as it waits, when the leak came before the wait', async () => {
    // Prepare: the rotation has stored its pending secret, but not yet reached AwaitConsumers.
    const t = setup();
    const rotation = await t.start();
    await t.leak({ clientId: CLIENT });
    expect(t.callbacks.calls).toEqual([]);

    // Act
    const waited = await awaitConsumers(t.deps, { taskToken: 'token-2', rotation });

    // Assess
    expect(waited).toEqual({ decision: 'healthy' });
    expect(t.callbacks.calls).toEqual([
      { kind: 'succeed', token: 'token-2', payload: { reason: 'leak_escalated' } },
    ]);
    expect(t.workflow.started).toEqual([]);
  });

  it('cancels the rotation whose pending secret leaked, and then starts a leak rotation', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.pendingRotation();
    const pending = t.stytch.secretsOf(CLIENT).next;
    expect(pending).not.toBeNull();

    // Act 1: the leak of the pending secret.
    const result = await t.leak({ fingerprint: await t.fingerprintOf(pending ?? '') });

    // Assess 1: the wait fails with LeakOfPendingSecret; nothing new starts while the lock is held.
    expect(result).toMatchObject({ result: 'escalated', leaked: 'pending', escalation: 'cancel' });
    expect(t.callbacks.calls).toEqual([
      { kind: 'fail', token: 'token-1', payload: expect.objectContaining({ error: 'LeakOfPendingSecret' }) },
    ]);
    expect(t.workflow.started).toEqual([]);

    // Act 2: the workflow's cancel path runs (as the state machine's Catch sends it there).
    await cancelRotation(t.deps, {
      input: { clientId: CLIENT, trigger: 'schedule' },
      executionId: EXECUTION,
      rotation,
      cancellation: { reason: 'leak_of_pending' },
    });

    // Assess 2: the leaked pending is dead at Stytch and gone from the store; the leak comes back.
    expect(t.stytch.secretsOf(CLIENT).next).toBeNull();
    expect((await t.deps.secrets.versions({ clientId: CLIENT, kind: 'm2m' })).pendingVersionId).toBeNull();
    const followUp = t.events.events.filter((event) => event.detailType === 'Secret Leak Detected');
    expect(followUp).toEqual([
      {
        detailType: 'Secret Leak Detected',
        detail: expect.objectContaining({ clientId: CLIENT, source: PREEMPTION_SOURCE }),
      },
    ]);

    // Act 3: the intake receives the follow-up: the lock is free now.
    const next = await handleLeak(t.deps, {
      id: 'follow-up-1',
      source: EVENT_SOURCES.rotator,
      detail: followUp[0]?.detail,
    });

    // Assess 3: a leak rotation starts; there was never a second rotation while the first ran.
    expect(next).toMatchObject({ result: 'rotation_started', clientId: CLIENT });
    expect(t.workflow.started.map((execution) => execution.input.trigger)).toEqual(['leak']);
  });

  it('sends the leak back when the rotation completed with a leaked pending secret (it lost the race)', async () => {
    // Prepare: every consumer reported healthy, so the wait was decided "complete" first.
    const t = setup();
    const rotation = await t.pendingRotation();
    await reportAsItself(t.deps, {
      clientId: CLIENT,
      rotationId: rotation.rotationId,
      pendingVersionId: rotation.pendingVersionId,
      consumer: 'billing-api',
      healthy: true,
    });
    const pending = t.stytch.secretsOf(CLIENT).next ?? '';

    // Act
    await t.leak({ fingerprint: await t.fingerprintOf(pending) });
    await completeRotation(t.deps, { rotation, completion: { reason: 'all_consumers_healthy' } });

    // Assess: the decision was answered once; the now-current leaked secret gets its own rotation.
    expect(t.callbacks.calls.map((call) => call.kind)).toEqual(['succeed']);
    const followUp = t.events.events.filter((event) => event.detailType === 'Secret Leak Detected');
    expect(followUp).toHaveLength(1);
    expect(
      await handleLeak(t.deps, {
        id: 'follow-up-2',
        source: EVENT_SOURCES.rotator,
        detail: followUp[0]?.detail,
      }),
    ).toMatchObject({
      result: 'rotation_started',
      clientId: CLIENT,
    });
  });

  it('sends nothing back when the escalated rotation completed as asked', async () => {
    // Prepare
    const t = setup();
    const rotation = await t.pendingRotation();
    await t.leak({ clientId: CLIENT });

    // Act
    await completeRotation(t.deps, { rotation, completion: { reason: 'leak_escalated' } });

    // Assess
    expect(t.events.events.filter((event) => event.detailType === 'Secret Leak Detected')).toEqual([]);
    expect(t.stytch.secretsOf(CLIENT).next).toBeNull();
  });

  it('never leaks the secret into a result, a log line or an event', async () => {
    // Prepare
    const t = setup();
    const current = t.stytch.secretsOf(CLIENT).current;
    await t.pendingRotation();
    const pending = t.stytch.secretsOf(CLIENT).next ?? '';

    // Act
    const results = [
      await t.leak({ fingerprint: await t.fingerprintOf(current) }),
      await t.leak({ fingerprint: await t.fingerprintOf(pending) }, 'second-event'),
    ];

    // Assess
    const captured = JSON.stringify({
      results,
      logs: t.logger.lines,
      events: t.events.events,
      ledger: t.ledger.dump(),
    });
    expect(captured).not.toContain(current);
    expect(captured).not.toContain(pending);
  });
});

describe('Leak intake: the ledger keeps every accepted report', () => {
  it.each([
    ['rotation_started', 'a leak with no rotation in progress'],
    ['escalated', 'a leak of the current secret during a rotation'],
    ['already_dead', 'a leak of a secret already revoked'],
  ] as const)('records %s (%s) exactly once when the event is delivered twice', async (result, _case) => {
    // Prepare
    const t = setup();
    const current = t.stytch.secretsOf(CLIENT).current;
    let detail: Record<string, unknown> = { clientId: CLIENT };
    let expected: Record<string, unknown> = {
      matchedBy: 'client_id',
      leaked: 'current',
      outcome: {
        result: 'rotation_started',
        executionArn: expect.stringMatching(new RegExp(`:leak-${EVENT_ID}$`)),
      },
    };
    if (result === 'escalated') {
      const rotation = await t.pendingRotation();
      detail = { fingerprint: await t.fingerprintOf(current) };
      expected = {
        matchedBy: 'fingerprint',
        leaked: 'current',
        outcome: { result: 'escalated', rotationId: rotation.rotationId, escalation: 'complete' },
      };
    } else if (result === 'already_dead') {
      const rotation = await t.start();
      await completeRotation(t.deps, { rotation, completion: { reason: 'all_consumers_healthy' } });
      detail = { fingerprint: await t.fingerprintOf(current) };
      expected = { matchedBy: 'fingerprint', leaked: 'dead', outcome: { result: 'already_dead' } };
    }

    // Act
    const first = await t.leak({ ...detail, reference: 'ticket 7' });
    t.clock.advance(60_000);
    const again = await t.leak({ ...detail, reference: 'ticket 7' });

    // Assess
    expect([first.result, again.result]).toEqual([result, result]);
    expect(await t.ledger.listLeakReports(CLIENT, 10)).toEqual([
      {
        clientId: CLIENT,
        eventId: EVENT_ID,
        receivedAt: '2026-11-25T12:00:00.000Z',
        source: 'github-secret-scanning',
        reference: 'ticket 7',
        ...(expected.matchedBy === 'fingerprint'
          ? { fingerprintPrefix: (await t.fingerprintOf(current)).slice(0, 12) }
          : {}),
        ...expected,
      },
    ]);
  });

  it('lists a client’s reports newest first, one per event', async () => {
    // Prepare
    const t = setup();
    await t.leak({ clientId: CLIENT }, 'event-1');
    t.clock.advance(1_000);
    await t.leak({ clientId: CLIENT }, 'event-2');

    // Act
    const reports = await t.ledger.listLeakReports(CLIENT, 10);

    // Assess
    expect(reports.map((report) => report.eventId)).toEqual(['event-2', 'event-1']);
  });

  it('records nothing for a report that matches no managed secret or names an unmanaged client', async () => {
    // Prepare
    const t = setup();

    // Act
    await t.leak({ fingerprint: await t.fingerprintOf('not-a-managed-secret') });
    await t.leak({ clientId: 'm2m-client-test-unmanaged' }, 'second-event');

    // Assess
    expect(JSON.parse(t.ledger.dump())).toMatchObject({ leakReports: [] });
  });

  it('keeps only a 12-character fingerprint prefix, and no secret pasted into the reference', async () => {
    // Prepare: the responder pasted the leaked value itself where the reference goes.
    const t = setup();
    const current = t.stytch.secretsOf(CLIENT).current;
    const fingerprint = await t.fingerprintOf(current);

    // Act
    await t.leak({ fingerprint, reference: `found "${current}" in a gist` });

    // Assess
    const [report] = await t.ledger.listLeakReports(CLIENT, 10);
    expect(report).toMatchObject({
      fingerprintPrefix: fingerprint.slice(0, 12),
      reference: 'found "[redacted]" in a gist',
    });
    expect(t.workflow.started[0]?.input.reason).toBe(
      'leak reported by github-secret-scanning: found "[redacted]" in a gist',
    );
    expect(t.ledger.dump()).not.toContain(current);
    expect(JSON.stringify(report)).not.toContain(fingerprint);
  });
});

describe('Leak intake: who may report a leak, and how (issue 13)', () => {
  it.each([
    ['the GitHub webhook', EVENT_SOURCES.githubWebhook],
    ['a configured scanner', 'acme.secret-scanner'],
    ['a consumer', consumerSource('billing-api')],
    ['a source that only looks like the operator', `${EVENT_SOURCES.operator}.evil`],
    ['no source at all', undefined],
  ])('refuses a report by client id from %s: nothing starts, nothing is recorded', async (_, source) => {
    // Prepare
    const t = setup();

    // Act
    const result = await handleLeak(t.deps, {
      id: EVENT_ID,
      ...(source === undefined ? {} : { source }),
      detail: { clientId: CLIENT, source: 'github-secret-scanning', requestedBy: 'cli:mallory' },
    });

    // Assess
    expect(result).toEqual({ result: 'refused', reason: 'client_id_needs_operator' });
    expect(t.workflow.started).toEqual([]);
    expect(JSON.parse(t.ledger.dump())).toMatchObject({ leakReports: [], rotations: [] });
    expect(t.logger.lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 'warn', clientId: CLIENT, source: source ?? '(none)' }),
    ]);
  });

  it('refuses a report by client id during a rotation without escalating it', async () => {
    // Prepare
    const t = setup();
    await t.pendingRotation();

    // Act
    const result = await t.leak({ clientId: CLIENT }, EVENT_ID, consumerSource('billing-api'));

    // Assess: the consumers keep their window; the rotation is not asked to complete.
    expect(result).toMatchObject({ result: 'refused' });
    expect(t.callbacks.calls).toEqual([]);
    expect(JSON.parse(t.ledger.dump()).rotations[0]).not.toHaveProperty('escalatedComplete');
  });

  it('logs a refused sender’s source bounded and without controls', async () => {
    // Prepare
    const t = setup();
    const hostile = `scanner\u001b[2J\nforged line\u202e${'x'.repeat(400)}`;

    // Act
    await t.leak({ clientId: CLIENT }, EVENT_ID, hostile);

    // Assess
    const [line] = t.logger.lines.map((text) => JSON.parse(text) as { source: string });
    expect(line?.source).toMatch(/^scanner\?\?2J\?forged\?line\?x+$/);
    expect(line?.source).toHaveLength(256);
  });

  it('accepts a report by client id from the rotator (a preemption re-published) and from an operator', async () => {
    // Prepare
    const t = setup();

    // Act
    const fromRotator = await t.leak({ clientId: CLIENT }, 'event-rotator', EVENT_SOURCES.rotator);
    const fromOperator = await t.leak({ clientId: OTHER }, 'event-operator', EVENT_SOURCES.operator);

    // Assess
    expect([fromRotator.result, fromOperator.result]).toEqual(['rotation_started', 'rotation_started']);
    expect(t.workflow.started.map((execution) => execution.input.clientId)).toEqual([CLIENT, OTHER]);
  });

  it('makes an operator’s requestedBy the leak rotation’s, scrubbed of the client’s secrets', async () => {
    // Prepare
    const t = setup();
    const current = t.stytch.secretsOf(CLIENT).current;

    // Act
    await handleLeak(t.deps, {
      id: EVENT_ID,
      source: EVENT_SOURCES.operator,
      detail: { clientId: CLIENT, source: 'rotator-cli', requestedBy: `cli:${current}`, reference: 'INC-7' },
    });

    // Assess
    expect(t.workflow.started[0]?.input).toEqual({
      clientId: CLIENT,
      trigger: 'leak',
      reason: 'leak reported by rotator-cli: INC-7',
      requestedBy: 'cli:[redacted]',
    });
    expect(await t.ledger.listLeakReports(CLIENT, 10)).toEqual([
      expect.objectContaining({ source: 'rotator-cli', reference: 'INC-7', matchedBy: 'client_id' }),
    ]);
  });

  it('accepts a report by fingerprint from a scanner, ignoring the requestedBy it claims', async () => {
    // Prepare
    const t = setup();
    const fingerprint = await t.fingerprintOf(t.stytch.secretsOf(CLIENT).current);

    // Act
    const result = await handleLeak(t.deps, {
      id: EVENT_ID,
      source: 'acme.secret-scanner',
      detail: { fingerprint, source: 'acme-scanner', requestedBy: 'cli:alice' },
    });

    // Assess
    expect(result).toMatchObject({ result: 'rotation_started', clientId: CLIENT, leaked: 'current' });
    expect(t.workflow.started[0]?.input.requestedBy).toBe('acme-scanner');
  });
});

describe('Leak intake: a second report while the leak rotation runs (issue 13)', () => {
  /** The leak rotation the first report started, run to the wait with its task token stored. */
  async function leakRotationWaiting(t: ReturnType<typeof setup>) {
    const first = await t.leak({ clientId: CLIENT });
    expect(first).toMatchObject({ result: 'rotation_started' });
    const rotation = await startRotation(t.deps, {
      input: t.workflow.started[0]?.input,
      executionId: `arn:aws:states:us-east-1:123456789012:execution:rotation:leak-${EVENT_ID}`,
    });
    await publishPending(t.deps, { rotation });
    await awaitConsumers(t.deps, { taskToken: 'leak-token', rotation });
    return rotation;
  }

  it.each([
    ['by fingerprint, from the GitHub webhook', 'fingerprint', EVENT_SOURCES.githubWebhook],
    ['by client id, from an operator', 'client_id', EVENT_SOURCES.operator],
  ] as const)(
    'records a second report of the current secret %s and changes nothing',
    async (_, by, source) => {
      // Prepare
      const t = setup();
      const current = t.stytch.secretsOf(CLIENT).current;
      const rotation = await leakRotationWaiting(t);
      const detail =
        by === 'fingerprint' ? { fingerprint: await t.fingerprintOf(current) } : { clientId: CLIENT };
      t.clock.advance(1_000);

      // Act
      const result = await t.leak({ ...detail, reference: 'found again' }, 'second-event', source);

      // Assess: no escalation (the consumers keep their window); the report is on record.
      expect(result).toEqual({
        result: 'leak_rotation_running',
        clientId: CLIENT,
        leaked: 'current',
        rotationId: rotation.rotationId,
      });
      expect(t.callbacks.calls).toEqual([]);
      expect(await t.ledger.getRotation(CLIENT, rotation.rotationId)).not.toHaveProperty('escalatedComplete');
      expect(t.workflow.started).toHaveLength(1);
      const [second] = await t.ledger.listLeakReports(CLIENT, 10);
      expect(second).toMatchObject({
        eventId: 'second-event',
        matchedBy: by,
        leaked: 'current',
        reference: 'found again',
        outcome: { result: 'leak_rotation_running', rotationId: rotation.rotationId },
      });
    },
  );

  it('changes nothing when the event that started the leak rotation is delivered again', async () => {
    // Prepare
    const t = setup();
    const rotation = await leakRotationWaiting(t);
    const before = await t.ledger.listLeakReports(CLIENT, 10);

    // Act
    const again = await t.leak({ clientId: CLIENT });

    // Assess: its own rotation is not asked to complete at once; the first record stays the only one.
    expect(again).toMatchObject({ result: 'leak_rotation_running', rotationId: rotation.rotationId });
    expect(t.callbacks.calls).toEqual([]);
    expect(await t.ledger.getRotation(CLIENT, rotation.rotationId)).not.toHaveProperty('escalatedComplete');
    expect(await t.ledger.listLeakReports(CLIENT, 10)).toEqual(before);
  });

  it('still cancels a leak rotation whose pending secret leaked: it must never become current', async () => {
    // Prepare
    const t = setup();
    const rotation = await leakRotationWaiting(t);
    const pending = t.stytch.secretsOf(CLIENT).next ?? '';

    // Act
    const result = await t.leak(
      { fingerprint: await t.fingerprintOf(pending) },
      'pending-event',
      'acme.secret-scanner',
    );

    // Assess
    expect(result).toMatchObject({
      result: 'escalated',
      leaked: 'pending',
      escalation: 'cancel',
      rotationId: rotation.rotationId,
    });
    expect(t.callbacks.calls).toEqual([
      {
        kind: 'fail',
        token: 'leak-token',
        payload: expect.objectContaining({ error: 'LeakOfPendingSecret' }),
      },
    ]);
  });
});
