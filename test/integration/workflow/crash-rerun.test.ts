import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotatorEvent } from '#core/events.js';
import type { ClientRef } from '#core/ports.js';
import { rotationIdFor } from '#core/state.js';
import type { StepName } from '#wiring/steps.js';
import { waitFor } from '../../support/waitFor.js';
import {
  type CrashErrorName,
  crashCases,
  crashTableRows,
  createWorld,
  type CrashCase as HarnessCrashCase,
  type World,
  type WorldClient,
} from './harness.js';
import { healthReport, outputOf } from './support.js';

/**
 * A Lambda can die after any call it makes. For every port call of every workflow step, in the
 * order the step makes them, the step's Lambda dies right after that call took effect, as Step
 * Functions sees it (`Sandbox.Timedout`, `Runtime.ExitError`, `Lambda.Unknown`, `States.Timeout`);
 * the state machine retries the step, and the rotation must converge: the same outcome, the lock
 * released, its end announced, and Stytch and Secrets Manager in agreement. docs/design.md's crash
 * table lists the same points (checked below).
 *
 * One world for all; the points share a client per setting and step, one after the other (a Lambda
 * environment holds the policies of only a few dozen clients), each starting from the converged,
 * idle state the point before it left. Settings:
 * - `complete`: a scheduled rotation, no consumers expected: StartRotation decides the wait, and it
 *   completes at once;
 * - `consumers`: a scheduled rotation that expects a consumer, which reports healthy: it completes;
 * - `recover`: Stytch already has a rotation pending whose secret is stored as a stale AWSPENDING
 *   (a start that nobody finished): StartRotation's recovery drops it, cancels at Stytch, starts again;
 * - `takeover`: the lock is held by an execution that was stopped (its status event lost), so
 *   StartRotation ends that rotation (reconciles its client, closes its record) and takes the lock;
 * - `cancel`: a consumer reports unhealthy, the rotation is cancelled;
 * - `fail`: a leak rotation whose start Stytch refuses (400): cancelled, and since a leak must not
 *   end quietly, RecordFailure; the execution fails and the execution reconciler runs.
 */
type Setting = 'complete' | 'consumers' | 'recover' | 'takeover' | 'cancel' | 'fail';
type WorkflowStep = Extract<
  StepName,
  | 'StartRotation'
  | 'PublishPending'
  | 'AwaitConsumers'
  | 'CompleteRotation'
  | 'CancelRotation'
  | 'RecordFailure'
>;

type CrashCase = HarnessCrashCase<Setting, WorkflowStep>;

const CONVERGES: Readonly<Record<Setting, string>> = {
  complete: 'completed; lock released',
  consumers: 'completed; lock released',
  recover: 'completed; the lost secret cancelled at Stytch; lock released',
  takeover: 'completed; the dead rotation failed; lock released',
  cancel: 'cancelled (consumer_unhealthy); lock released',
  fail: 'failed, then reconciled; lock released',
};

const crashes = crashCases<Setting, WorkflowStep, CrashErrorName>(CONVERGES);

/**
 * Every crash point of the workflow, in the order the steps make the calls. On AwaitConsumers no
 * `States.Timeout`: on the wait that error is the rotation's deadline (caught, not retried), and a
 * Lambda that dies does not produce it.
 */
const WORKFLOW_CRASHES: readonly CrashCase[] = [
  ...crashes('complete', 'StartRotation', [
    ['secrets.read', 'AWSCURRENT read', 'Sandbox.Timedout'],
    ['ledger.beginRotation', "the lock taken, the record created, AWSCURRENT's entry", 'Runtime.ExitError'],
    ['events.publish', '`Rotation Started`', 'Lambda.Unknown'],
    ['secrets.versions', 'the labels read', 'States.Timeout', 1],
    ['stytch.startRotation', 'rotate/start', 'Sandbox.Timedout'],
    ['secrets.putPending', 'AWSPENDING stored, not yet indexed', 'Runtime.ExitError'],
    ['stytch.selfTest', 'the self-test', 'Lambda.Unknown'],
    [
      'ledger.recordStepAndClaim',
      "recorded as stored, with the pending secret's entry; the wait decided (no consumers)",
      'States.Timeout',
    ],
  ]),
  ...crashes('recover', 'StartRotation', [
    ['stytch.startRotation', 'rotate/start refused: already rotating', 'Runtime.ExitError', 1],
    ['secrets.versions', 'recovery observes the labels', 'Lambda.Unknown', 2],
    ['secrets.read', 'recovery observes AWSCURRENT', 'States.Timeout', 2],
    ['secrets.read', 'recovery observes the stale AWSPENDING', 'Sandbox.Timedout', 3],
    ['stytch.getSecretState', "recovery observes Stytch's pending", 'Runtime.ExitError', 1],
    ['secrets.versions', 'labels read, to drop the stale pending', 'Lambda.Unknown', 3],
    ['secrets.read', 'the stale pending read, to index it', 'States.Timeout', 4],
    ['secrets.removePending', 'the stale pending removed', 'Sandbox.Timedout'],
    ['ledger.putFingerprint', 'the removed secret indexed as cancelled', 'Runtime.ExitError', 1],
    ['stytch.cancelRotation', 'rotate/cancel of the lost secret', 'Lambda.Unknown'],
    ['secrets.versions', 'recovery re-observes the labels', 'States.Timeout', 4],
    ['secrets.read', 'recovery re-observes AWSCURRENT', 'Sandbox.Timedout', 5],
    ['stytch.getSecretState', 'recovery re-observes Stytch, before the second start', 'Runtime.ExitError', 2],
    ['stytch.startRotation', 'the second rotate/start', 'Lambda.Unknown', 2],
  ]),
  ...crashes('takeover', 'StartRotation', [
    ['ledger.beginRotation', 'the lock refused: a dead rotation holds it', 'States.Timeout', 1],
    ['ledger.getRotation', "the dead holder's record read", 'Lambda.Unknown'],
    ['executions.status', "the holder's execution found ended", 'Sandbox.Timedout'],
    ['secrets.removePending', "the dead rotation's pending removed", 'Runtime.ExitError'],
    ['stytch.cancelRotation', "the dead rotation's secret cancelled at Stytch", 'Lambda.Unknown'],
    ['ledger.updateRotation', "the dead rotation's record closed as failed", 'States.Timeout', 1],
    ['events.publish', "the dead rotation's `Rotation Failed`", 'Sandbox.Timedout', 1],
    ['ledger.takeOverLock', 'the lock taken over', 'Runtime.ExitError'],
    ['ledger.beginRotation', 'the record created under the lock taken over', 'Lambda.Unknown', 2],
  ]),
  ...crashes('complete', 'PublishPending', [['events.publish', '`Rotation Pending`', 'States.Timeout']]),
  ...crashes('consumers', 'AwaitConsumers', [
    ['ledger.updateRotation', 'token kept, pending (a consumer expected)', 'Sandbox.Timedout'],
  ]),
  ...crashes('complete', 'CompleteRotation', [
    ['secrets.read', 'AWSCURRENT read (the secret it replaces)', 'States.Timeout', 1],
    ['secrets.read', 'AWSPENDING read', 'Runtime.ExitError', 2],
    ['secrets.promotePending', 'AWSCURRENT moved, not yet indexed', 'Lambda.Unknown'],
    ['stytch.completeRotation', 'rotate (complete)', 'States.Timeout'],
    ['stytch.authenticates', 'the old secret proven dead', 'Sandbox.Timedout'],
    ['ledger.endRotation', 'completion recorded, both indexed, the lock released', 'Runtime.ExitError'],
    ['events.publish', '`Rotation Completed`', 'Lambda.Unknown'],
  ]),
  ...crashes('cancel', 'CancelRotation', [
    ['ledger.getLock', 'the lock read', 'Sandbox.Timedout'],
    ['ledger.getRotation', 'the record read', 'Runtime.ExitError'],
    ['secrets.versions', 'the labels read', 'Lambda.Unknown', 1],
    ['secrets.versions', 'labels read, to drop AWSPENDING', 'States.Timeout', 2],
    ['secrets.read', 'AWSPENDING read, to index it', 'Sandbox.Timedout', 1],
    ['secrets.removePending', 'AWSPENDING removed, not yet indexed', 'Runtime.ExitError'],
    ['ledger.putFingerprint', 'the removed secret indexed as cancelled', 'Lambda.Unknown'],
    ['secrets.versions', 'reconciliation observes the labels', 'States.Timeout', 3],
    ['secrets.read', 'reconciliation observes AWSCURRENT', 'Sandbox.Timedout', 2],
    ['stytch.getSecretState', "reconciliation observes Stytch's pending", 'Runtime.ExitError', 1],
    ['stytch.cancelRotation', 'rotate/cancel', 'Lambda.Unknown'],
    ['secrets.versions', 'reconciliation re-observes the labels', 'States.Timeout', 4],
    ['secrets.read', 'reconciliation re-observes AWSCURRENT', 'Sandbox.Timedout', 3],
    ['stytch.getSecretState', 'reconciliation re-observes Stytch', 'Runtime.ExitError', 2],
    ['ledger.updateRotation', 'the status written: cancelled', 'Lambda.Unknown'],
    ['ledger.releaseLock', 'the lock released', 'States.Timeout'],
    ['events.publish', '`Rotation Cancelled`', 'Sandbox.Timedout'],
  ]),
  ...crashes('fail', 'RecordFailure', [
    ['ledger.getRotation', 'the record read', 'Runtime.ExitError'],
    ['ledger.updateRotation', 'the status written: failed', 'Lambda.Unknown'],
    ['events.publish', '`Rotation Failed`', 'States.Timeout'],
  ]),
];

/** The client a point rotates: one per setting and step. */
const clientOf = (crash: CrashCase) => `m2m-client-test-crash-${crash.setting}-${crash.step}`.toLowerCase();
/** Long enough for any healthy run, short enough that a wait nobody answers ends the test soon. */
const DEADLINE_SECONDS = 10;
const CONSUMERS = { expectedConsumers: ['api'] };
const SHORT_DEADLINES = {
  schedule: { deadlineSeconds: DEADLINE_SECONDS },
  manual: { deadlineSeconds: DEADLINE_SECONDS },
};

function worldClient(crash: CrashCase): WorldClient {
  const clientId = clientOf(crash);
  if (crash.setting === 'cancel' || crash.setting === 'takeover' || crash.setting === 'consumers') {
    return { clientId, policy: { ...CONSUMERS, ...SHORT_DEADLINES } };
  }
  return { clientId, policy: SHORT_DEADLINES };
}

describe('Scenario: a Lambda dies after each call of each workflow step, and the workflow converges', () => {
  let world: World;

  beforeAll(async () => {
    const clients = new Map(WORKFLOW_CRASHES.map((crash) => [clientOf(crash), worldClient(crash)]));
    world = await createWorld([...clients.values()]);
  }, 120_000);
  afterAll(() => world?.stop());

  it("the design page's crash table lists exactly these points, in this order", () => {
    // Prepare
    const steps = new Set<string>(WORKFLOW_CRASHES.map((crash) => crash.step));

    // Act
    const rows = crashTableRows().filter((row) => steps.has(row.step));

    // Assess
    expect(rows).toEqual(
      WORKFLOW_CRASHES.map((crash) => ({
        step: crash.step,
        after: crash.after,
        error: `\`${crash.point.error}\``,
        converges: crash.converges,
      })),
    );
  });

  it.each(WORKFLOW_CRASHES.map((crash) => [`${crash.step}: after ${crash.after}`, crash] as const))(
    '%s',
    async (_label, crash) => {
      // Prepare
      const clientId = clientOf(crash);
      const ref: ClientRef = { clientId, kind: 'm2m' };
      const act = await prepare(world, crash, ref);

      // Act
      const execution = await act();

      // Assess
      expect(world.crashed()).toBe(true);
      const rotationId = rotationIdFor(execution.executionArn);
      switch (crash.setting) {
        case 'complete':
        case 'consumers':
        case 'recover':
        case 'takeover':
          expect(outputOf(execution)).toMatchObject({ outcome: 'completed', clientId, rotationId });
          expect(announced(world, 'Rotation Completed', clientId, rotationId)).toBe(true);
          break;
        case 'cancel':
          expect(outputOf(execution)).toMatchObject({ outcome: 'cancelled', reason: 'consumer_unhealthy' });
          expect(announced(world, 'Rotation Cancelled', clientId, rotationId)).toBe(true);
          break;
        case 'fail':
          expect(execution.status).toBe('FAILED');
          await world.reconciled();
          expect(world.asyncFailures).toEqual([]);
          expect(await world.deps.ledger.getRotation(clientId, rotationId)).toMatchObject({
            status: 'failed',
          });
          expect(announced(world, 'Rotation Failed', clientId, rotationId)).toBe(true);
          break;
      }
      if (crash.setting === 'takeover') {
        const [, dead] = await world.deps.ledger.listRotations(clientId, 2);
        expect(dead).toMatchObject({ status: 'failed', outcomeReason: 'execution_ended' });
        expect(announced(world, 'Rotation Failed', clientId, dead?.rotationId ?? '')).toBe(true);
      }
      expect(await world.deps.ledger.getLock(clientId)).toBeNull();
      await world.assertInvariants([clientId]);
      expect(await indexedStages(world, ref)).toEqual({ current: 'current', pending: null });
    },
  );
});

type Execution = Awaited<ReturnType<World['run']>>;

/** Sets the client up for its setting, arms the crash, and returns what runs the rotation. */
async function prepare(world: World, crash: CrashCase, ref: ClientRef): Promise<() => Promise<Execution>> {
  const { clientId } = ref;
  switch (crash.setting) {
    case 'complete':
      world.crashAfter(crash.point);
      return () => world.run({ clientId, trigger: 'schedule' });
    case 'consumers':
      world.crashAfter(crash.point);
      return async () => {
        const { executionArn } = world.executor.startExecution({ input: { clientId, trigger: 'schedule' } });
        const pending = await pendingOf(world, rotationIdFor(executionArn));
        await world.report(healthReport(pending, 'api', true));
        return world.executor.waitForExecution(executionArn);
      };
    case 'recover': {
      // A start nobody finished: Stytch has a next secret, stored as an AWSPENDING no rotation owns.
      const current = await world.deps.secrets.read(ref, 'AWSCURRENT');
      if (current === null) throw new Error(`${clientId} is not enrolled`);
      const { nextClientSecret } = await world.stytch.m2m.rotateStart(clientId);
      world.secrets.push(nextClientSecret);
      await world.deps.secrets.putPending(ref, randomUUID(), { ...current, clientSecret: nextClientSecret });
      world.crashAfter(crash.point);
      return () => world.run({ clientId, trigger: 'schedule' });
    }
    case 'takeover': {
      // An execution stopped while it waits, its status event lost: it still holds the lock.
      world.deliverExecutionEnds(false);
      const stuck = world.executor.startExecution({ input: { clientId, trigger: 'schedule' } });
      await waitForTaskToken(world, clientId, rotationIdFor(stuck.executionArn));
      world.executor.stopExecution(stuck.executionArn);
      await world.executor.waitForExecution(stuck.executionArn);
      world.deliverExecutionEnds(true);
      world.crashAfter(crash.point);
      return async () => {
        const { executionArn } = world.executor.startExecution({ input: { clientId, trigger: 'manual' } });
        const pending = await pendingOf(world, rotationIdFor(executionArn));
        await world.report(healthReport(pending, 'api', true));
        return world.executor.waitForExecution(executionArn);
      };
    }
    case 'cancel': {
      const { executionArn } = world.executor.startExecution({ input: { clientId, trigger: 'schedule' } });
      const pending = await pendingOf(world, rotationIdFor(executionArn));
      world.crashAfter(crash.point);
      return async () => {
        await world.report(healthReport(pending, 'api', false, 'cannot mint with the pending secret'));
        return world.executor.waitForExecution(executionArn);
      };
    }
    case 'fail':
      // A permanent refusal: the leak rotation cannot start, is cancelled, and must not end quietly.
      world.emulator.faults.failNext('m2m.secrets.rotateStart', { status: 400 });
      world.crashAfter(crash.point);
      return () => world.run({ clientId, trigger: 'leak', requestedBy: 'crash-test' });
  }
}

/**
 * What the fingerprint index says of the secrets AWSCURRENT and AWSPENDING hold (the webhook tells
 * GitHub that stage): the index follows the store.
 */
async function indexedStages(world: World, ref: ClientRef) {
  const stageOf = async (label: 'AWSCURRENT' | 'AWSPENDING') => {
    const value = await world.deps.secrets.read(ref, label);
    if (value === null) return null;
    const entry = await world.deps.ledger.findFingerprint(
      await world.deps.fingerprints.fingerprint(value.clientSecret),
    );
    return entry?.stage ?? 'not indexed';
  };
  return { current: await stageOf('AWSCURRENT'), pending: await stageOf('AWSPENDING') };
}

/** Whether an event of `detailType` went out for this rotation. */
function announced(world: World, detailType: string, clientId: string, rotationId: string): boolean {
  return world.events.some(
    (event) =>
      event.detailType === detailType &&
      (event.detail as { clientId?: string; rotationId?: string }).clientId === clientId &&
      (event.detail as { rotationId?: string }).rotationId === rotationId,
  );
}

/** The `Rotation Pending` event of a rotation, once published. */
function pendingOf(world: World, rotationId: string) {
  return waitFor(async () =>
    world.events.find(
      (event): event is RotatorEvent<'Rotation Pending'> =>
        event.detailType === 'Rotation Pending' &&
        (event.detail as { rotationId?: string }).rotationId === rotationId,
    ),
  );
}

/** Waits until AwaitConsumers has kept its task token with the rotation. */
async function waitForTaskToken(world: World, clientId: string, rotationId: string): Promise<void> {
  await waitFor(async () => (await world.deps.ledger.getRotation(clientId, rotationId))?.taskToken);
}
