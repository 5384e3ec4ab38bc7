import { LOCK_GRACE_SECONDS, type StepDeps } from '../deps.js';
import type { RotationStartedDetail } from '../events.js';
import { indexCurrent } from '../fingerprintedSecrets.js';
import { resolvePolicy } from '../policy.js';
import type {
  ClientRef,
  ManagedSecretValue,
  RotationLock,
  RotationRecord,
  SecretVersions,
} from '../ports.js';
import { reconcileClient } from '../reconcile.js';
import {
  AlreadyRotatingError,
  LeakWaitingForLockError,
  NeedsOperatorError,
  NotEnrolledError,
  RotationInProgressError,
  UnknownClientError,
} from '../rotationErrors.js';
import type { Secret } from '../secret.js';
import { endStaleRotation, leakLeftBy, lockHolder, type StaleRotationEnd } from '../staleRotation.js';
import { type RotationContext, rotationIdFor, StartInputSchema } from '../state.js';
import { parseOrThrow } from '../validate.js';
import { WorkflowInputSchema } from '../workflow.js';

/**
 * Step 1, StartRotation: take the client's lock, start the rotation at Stytch, keep the one-time
 * next secret as AWSPENDING (version id = rotation id), and prove it mints a verifiable token.
 *
 * Every retry converges: a pending version this rotation already stored is reused; Stytch saying
 * "already rotating" is settled by the reconciliation rule (lambdas/core/reconcile.ts) before
 * starting again. A lock left by an execution that is no longer running is recovered.
 */
export async function startRotation(deps: StepDeps, raw: unknown): Promise<RotationContext> {
  const { input: rawInput, executionId } = parseOrThrow(StartInputSchema, raw, 'StartRotation input');
  const input = parseOrThrow(WorkflowInputSchema, rawInput, 'workflow input');
  const settings = await deps.clients.find(input.clientId);
  if (settings === undefined) throw new UnknownClientError(input.clientId);

  const client: ClientRef = { clientId: input.clientId, kind: settings.kind };
  const rotationId = rotationIdFor(executionId);
  const policy = resolvePolicy(input.trigger, settings.policy);
  const now = deps.clock.now();
  const deadline = new Date(now.getTime() + policy.deadlineSeconds * 1000);

  // Checked before the lock: a request that cannot start takes nothing it would have to give back.
  const secretId = deps.secrets.secretIdOf(client);
  const current = await deps.secrets.read(client, 'AWSCURRENT');
  if (current === null) throw new NotEnrolledError(client.clientId, secretId);

  const lock: RotationLock = {
    clientId: client.clientId,
    rotationId,
    executionId,
    expiresAt: new Date(deadline.getTime() + LOCK_GRACE_SECONDS * 1000).toISOString(),
  };
  const acquired = await deps.ledger.acquireLock(lock, now);
  const staleLeak = acquired.acquired
    ? null
    : await takeOverStaleLock(deps, client, lock, acquired.heldBy, input.trigger);
  // With the lock held nothing moves AWSCURRENT: index it (a leak report can then find a client
  // enrolled from outside, from its first rotation on).
  // The labels as they are now: nothing moves them while the lock is held but this step.
  const versions = await indexCurrent({ ...deps, index: deps.ledger }, client, current);

  // The first attempt creates the record; `Rotation Started` goes out until one attempt has
  // recorded that it did (at least once, like every event: consumers dedupe by rotationId).
  const record = await deps.ledger.createRotation(
    newRecord(input, client, rotationId, executionId, policy, now),
  );
  const startedAt = record.steps.started ?? now.toISOString();
  // A leak the dead holder left unanswered now meets this rotation (the intake escalates it).
  if (staleLeak !== null) await deps.events.publish(staleLeak);
  if (record.steps.announced === undefined) {
    const started: RotationStartedDetail = {
      rotationId,
      clientId: client.clientId,
      clientKind: client.kind,
      trigger: input.trigger,
      startedAt,
      ...(input.reason === undefined ? {} : { reason: input.reason }),
      ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
    };
    await deps.events.publish({ detailType: 'Rotation Started', detail: started });
    await deps.ledger.updateRotation(client.clientId, rotationId, {
      steps: { announced: deps.clock.now().toISOString() },
    });
  }

  const nextSecret =
    (await reusablePending(deps, client, rotationId, versions)) ??
    (await startAtStytch(deps, client, rotationId));
  await storePending(deps, client, rotationId, current, nextSecret);
  await deps.stytch.selfTest(client, nextSecret);

  // The record's deadline is the one fixed at the first attempt: a retry must not extend it.
  const fixedDeadline = record.deadline ?? deadline.toISOString();
  await deps.ledger.updateRotation(client.clientId, rotationId, {
    deadline: fixedDeadline,
    pendingVersionId: rotationId,
    pendingLastFour: nextSecret.lastFour,
    previousLastFour: current.clientSecret.lastFour,
    steps: { stored: deps.clock.now().toISOString() },
  });
  deps.logger.info('Rotation started', {
    clientId: client.clientId,
    rotationId,
    pendingLastFour: nextSecret.lastFour,
    previousLastFour: current.clientSecret.lastFour,
  });

  return {
    rotationId,
    executionId,
    clientId: client.clientId,
    clientKind: client.kind,
    trigger: input.trigger,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
    secretId,
    pendingVersionId: rotationId,
    pendingLastFour: nextSecret.lastFour,
    previousLastFour: current.clientSecret.lastFour,
    startedAt,
    deadline: fixedDeadline,
    policy: {
      onDeadline: policy.onDeadline,
      deadlineSeconds: Math.max(
        1,
        Math.round((Date.parse(fixedDeadline) - deps.clock.now().getTime()) / 1000),
      ),
      expectedConsumers: [...policy.expectedConsumers],
    },
  };
}

function newRecord(
  input: {
    trigger: RotationRecord['trigger'];
    reason?: string | undefined;
    requestedBy?: string | undefined;
  },
  client: ClientRef,
  rotationId: string,
  executionId: string,
  policy: { expectedConsumers: readonly string[] },
  now: Date,
): RotationRecord {
  return {
    clientId: client.clientId,
    rotationId,
    clientKind: client.kind,
    trigger: input.trigger,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
    executionId,
    status: 'started',
    steps: { started: now.toISOString() },
    expectedConsumers: [...policy.expectedConsumers],
    reports: {},
  };
}

/**
 * The next secret this rotation already stored, if Stytch still has it pending (a retry after a
 * crash between the store and the end of the step). A stored pending Stytch no longer has is
 * dropped, and the rotation starts afresh.
 */
async function reusablePending(
  deps: StepDeps,
  client: ClientRef,
  rotationId: string,
  versions: SecretVersions,
): Promise<Secret | null> {
  if (versions.pendingVersionId !== rotationId) return null;
  const pending = await deps.secrets.read(client, 'AWSPENDING');
  const stytchState = await deps.stytch.getSecretState(client);
  if (pending !== null && stytchState.nextLastFour === pending.clientSecret.lastFour) {
    return pending.clientSecret;
  }
  deps.logger.warn('Stored pending secret is not pending at Stytch; starting again', {
    clientId: client.clientId,
    rotationId,
  });
  await deps.secrets.removePending(client, rotationId);
  return null;
}

/**
 * rotate/start, with the recovery rule: if Stytch already has a rotation pending that we hold no
 * secret for, that secret is lost for good; cancel it (dropping any stale AWSPENDING first, so no
 * reader picks up a dead secret) and start again.
 */
async function startAtStytch(deps: StepDeps, client: ClientRef, rotationId: string): Promise<Secret> {
  try {
    return (await deps.stytch.startRotation(client)).nextSecret;
  } catch (error) {
    if (!(error instanceof AlreadyRotatingError)) throw error;
  }
  // We hold the lock, so no other rotation runs: the reconciliation rule decides (a lost next
  // secret is cancelled; one that already is AWSCURRENT is completed, never cancelled).
  const { plan } = await reconcileClient(deps, client);
  if (plan.verdict === 'needs_operator') throw new NeedsOperatorError(client.clientId, plan.finding);
  deps.logger.warn('Stytch had a rotation pending; reconciled before starting again', {
    clientId: client.clientId,
    rotationId,
    finding: plan.finding,
  });
  return (await deps.stytch.startRotation(client)).nextSecret;
}

/**
 * The lock is held by another rotation. If its execution still runs, this start is refused (a
 * leak rotation is retried instead: it must not be dropped). If its execution ended without
 * releasing the lock (stopped, failed, timed out), its client is made whole with the
 * reconciliation rule, its record closed, and the lock taken over. Returns the leak the dead
 * rotation left unanswered, if any.
 */
async function takeOverStaleLock(
  deps: StepDeps,
  client: ClientRef,
  lock: RotationLock,
  heldBy: RotationLock,
  trigger: RotationRecord['trigger'],
) {
  const holder = await lockHolder(deps, heldBy);
  const refuse = (): never => {
    if (trigger === 'leak') throw new LeakWaitingForLockError(client.clientId, heldBy.rotationId);
    throw new RotationInProgressError(client.clientId, heldBy.rotationId);
  };
  if (holder.alive) refuse();
  let end: StaleRotationEnd;
  try {
    end = await endStaleRotation(deps, client, { rotationId: heldBy.rotationId, ...holder });
  } catch (error) {
    // AWSCURRENT does not authenticate and we hold no secret that does: a new rotation issues a
    // fresh one, which is the repair; the dead holder's record is closed as it is.
    if (!(error instanceof NeedsOperatorError)) throw error;
    end = {
      reconciled: { plan: { verdict: 'needs_operator', actions: [], finding: error.message }, applied: [] },
      record: holder.record,
    };
  }
  if (!(await deps.ledger.takeOverLock(lock, heldBy.rotationId))) refuse();
  deps.logger.warn('Took over the lock of a rotation whose execution ended', {
    clientId: client.clientId,
    staleRotationId: heldBy.rotationId,
    executionStatus: holder.status,
  });
  return leakLeftBy(end, deps.clock.now().toISOString());
}

async function storePending(
  deps: StepDeps,
  client: ClientRef,
  rotationId: string,
  current: ManagedSecretValue,
  nextSecret: Secret,
): Promise<void> {
  await deps.secrets.putPending(client, rotationId, {
    projectId: current.projectId,
    clientId: client.clientId,
    clientSecret: nextSecret,
    tokenUrl: current.tokenUrl,
  });
}
