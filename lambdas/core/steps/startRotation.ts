import { decideFromContext } from '../decision.js';
import { LOCK_GRACE_SECONDS, type StepDeps } from '../deps.js';
import type { RotationStartedDetail, RotatorEvent } from '../events.js';
import type { FingerprintEntry, FingerprintStage } from '../fingerprint.js';
import { fingerprintEntry } from '../fingerprintedSecrets.js';
import { resolvePolicy } from '../policy.js';
import type {
  ClientRef,
  KnownLabels,
  ManagedSecretValue,
  RotationLock,
  RotationPatch,
  RotationRecord,
  SecretVersions,
  StoredSecretValue,
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
  // The read says which version is AWSCURRENT, so indexing it needs no DescribeSecret.
  const secretId = deps.secrets.secretIdOf(client);
  let current = await deps.secrets.read(client, 'AWSCURRENT');
  if (current === null) throw new NotEnrolledError(client.clientId, secretId);

  const lock: RotationLock = {
    clientId: client.clientId,
    rotationId,
    executionId,
    expiresAt: new Date(deadline.getTime() + LOCK_GRACE_SECONDS * 1000).toISOString(),
  };
  // One write: the lock, the record (the first attempt creates it, a retry finds it), and the
  // current secret's index entry (a leak report can then find a client enrolled from outside,
  // from its first rotation on).
  const fresh = newRecord(input, client, rotationId, executionId, policy, now);
  const currentEntry = await indexEntry(deps, client, current, current.versionId, 'current');
  let begun = await deps.ledger.beginRotation(lock, fresh, [currentEntry], now);
  let staleLeak: RotatorEvent<'Secret Leak Detected'> | null = null;
  if (!begun.acquired) {
    staleLeak = await takeOverStaleLock(deps, client, lock, begun.heldBy, input);
    begun = await deps.ledger.beginRotation(lock, fresh, [currentEntry], now);
    // Taken over a moment ago: only a rotation that took it from us since could hold it now.
    if (!begun.acquired) throw lockRefusal(client, begun.heldBy, input);
  }
  const { record } = begun;
  const startedAt = record.steps.started ?? now.toISOString();
  // A leak the dead holder left unanswered now meets this rotation (the intake escalates it).
  if (staleLeak !== null) await deps.events.publish(staleLeak);
  // `Rotation Started` goes out until one attempt has recorded that it did (at least once, like
  // every event: consumers dedupe by rotationId); the record says so with the step's last write.
  const announcedAt =
    record.steps.announced === undefined
      ? await announceStart(
          deps,
          { rotationId, clientId: client.clientId, clientKind: client.kind, startedAt },
          input,
        )
      : undefined;

  // The labels as they are now: with the lock held nothing moves them but this step.
  const versions = await deps.secrets.versions(client);
  if (versions.currentVersionId !== current.versionId) {
    current = await currentMovedBeforeLock(deps, client, current, versions);
  }
  const started = await pendingSecret(deps, client, rotationId, versions);
  await storePending(deps, client, rotationId, current, started);
  await deps.stytch.selfTest(client, started.secret);

  // The record's deadline is the one fixed at the first attempt: a retry must not extend it. The
  // pending secret is indexed with the record: a leak report that comes before finds no entry and
  // is matched against the stored secrets instead (leakIntake.ts), so it is never lost.
  const fixedDeadline = record.deadline ?? deadline.toISOString();
  const nextSecret = started.secret;
  const storedAt = deps.clock.now().toISOString();
  const stored: RotationPatch = {
    deadline: fixedDeadline,
    pendingVersionId: rotationId,
    pendingLastFour: nextSecret.lastFour,
    previousLastFour: current.clientSecret.lastFour,
    steps: { ...(announcedAt === undefined ? {} : { announced: announcedAt }), stored: storedAt },
  };
  const entries = [await indexEntry(deps, client, { clientSecret: nextSecret }, rotationId, 'pending')];
  const decided = await recordStored(deps, client, rotationId, policy.expectedConsumers, stored, entries);
  deps.logger.info('Rotation started', {
    clientId: client.clientId,
    rotationId,
    pendingLastFour: nextSecret.lastFour,
    previousLastFour: current.clientSecret.lastFour,
    ...(decided === undefined ? {} : { decided: decided.reason }),
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
    ...(decided === undefined ? {} : { decided }),
  };
}

/**
 * Records the stored pending secret (`stored`, with its index entry). With no consumer expected
 * the wait is decided in the same write (AwaitConsumers' claim, made here: the workflow then keeps
 * no task token for a wait nobody takes part in), only while the record decides it so too: a leak
 * that escalated it meanwhile, or a retry that finds its claim made, leaves the decision to the
 * wait. Returns the decision when this write made it.
 */
async function recordStored(
  deps: StepDeps,
  client: ClientRef,
  rotationId: string,
  expectedConsumers: readonly string[],
  stored: RotationPatch,
  entries: readonly FingerprintEntry[],
): Promise<RotationContext['decided']> {
  const decidedByContext = decideFromContext(expectedConsumers);
  if (decidedByContext !== null && decidedByContext.decision.kind === 'healthy') {
    const at = stored.steps?.stored ?? deps.clock.now().toISOString();
    const claimed = await deps.ledger.recordStepAndClaim(
      client.clientId,
      rotationId,
      { ...stored, status: 'pending', steps: { ...stored.steps, pending: at } },
      entries,
      at,
      decidedByContext.answer,
    );
    if (claimed) return decidedByContext.decision.result;
  }
  await deps.ledger.recordStep(client.clientId, rotationId, stored, entries);
  return undefined;
}

function newRecord(
  input: {
    trigger: RotationRecord['trigger'];
    reason?: string | undefined;
    requestedBy?: string | undefined;
    fleetRun?: string | undefined;
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
    ...(input.fleetRun === undefined ? {} : { fleetRun: input.fleetRun }),
    executionId,
    status: 'started',
    steps: { started: now.toISOString() },
    expectedConsumers: [...policy.expectedConsumers],
    reports: {},
  };
}

/** The next secret, and the labels it was stored against if nothing has moved them since they were read. */
interface StartedSecret {
  readonly secret: Secret;
  readonly known?: KnownLabels;
}

/**
 * The next secret: the one this rotation already stored, if Stytch still has it pending (a retry
 * after a crash between the store and the end of the step), else a new one from rotate/start. The
 * labels read before come back as `known` while nothing has moved them (no stale pending dropped,
 * no reconciliation), so storing the secret needs no second DescribeSecret.
 */
async function pendingSecret(
  deps: StepDeps,
  client: ClientRef,
  rotationId: string,
  versions: SecretVersions,
): Promise<StartedSecret> {
  if (versions.pendingVersionId === rotationId) {
    const reused = await reusablePending(deps, client, rotationId);
    if (reused !== null) return { secret: reused, known: versions };
    // Our stale pending was dropped: the labels moved.
    return { secret: (await startAtStytch(deps, client, rotationId)).secret };
  }
  const fromStytch = await startAtStytch(deps, client, rotationId);
  return fromStytch.reconciled
    ? { secret: fromStytch.secret }
    : { secret: fromStytch.secret, known: versions };
}

/**
 * The next secret this rotation already stored (AWSPENDING is its version), if Stytch still has
 * it pending. A stored pending Stytch no longer has is dropped, and the rotation starts afresh.
 */
async function reusablePending(
  deps: StepDeps,
  client: ClientRef,
  rotationId: string,
): Promise<Secret | null> {
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
 * reader picks up a dead secret) and start again. `reconciled`: the labels may have moved.
 */
async function startAtStytch(
  deps: StepDeps,
  client: ClientRef,
  rotationId: string,
): Promise<{ readonly secret: Secret; readonly reconciled: boolean }> {
  try {
    return { secret: (await deps.stytch.startRotation(client)).nextSecret, reconciled: false };
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
  return { secret: (await deps.stytch.startRotation(client)).nextSecret, reconciled: true };
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
  request: LockRequest,
) {
  const holder = await lockHolder(deps, heldBy);
  const refuse = (): never => {
    throw lockRefusal(client, heldBy, request);
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

/** Publishes `Rotation Started`; returns when (what the record keeps as `steps.announced`). */
async function announceStart(
  deps: StepDeps,
  rotation: Pick<RotationStartedDetail, 'rotationId' | 'clientId' | 'clientKind' | 'startedAt'>,
  input: Pick<RotationStartedDetail, 'trigger' | 'reason' | 'requestedBy'>,
): Promise<string> {
  const detail: RotationStartedDetail = {
    ...rotation,
    trigger: input.trigger,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
  };
  await deps.events.publish({ detailType: 'Rotation Started', detail });
  return deps.clock.now().toISOString();
}

/**
 * AWSCURRENT moved between the read and the lock (a rotation that ended just then): the secret
 * read is no longer current. Reads and indexes the one that is (and the one read as `previous`,
 * if that is what it is now); returns it.
 */
async function currentMovedBeforeLock(
  deps: StepDeps,
  client: ClientRef,
  before: StoredSecretValue,
  versions: SecretVersions,
): Promise<StoredSecretValue> {
  const current = await deps.secrets.read(client, 'AWSCURRENT');
  if (current === null) throw new NotEnrolledError(client.clientId, deps.secrets.secretIdOf(client));
  await deps.ledger.putFingerprint(await indexEntry(deps, client, current, current.versionId, 'current'));
  if (versions.previousVersionId === before.versionId) {
    await deps.ledger.putFingerprint(await indexEntry(deps, client, before, before.versionId, 'previous'));
  }
  return current;
}

/** What decides how a start that meets a held lock is refused. */
interface LockRequest {
  readonly trigger: RotationRecord['trigger'];
  readonly fleetRun?: string | undefined;
}

/**
 * Why a start is refused while `heldBy` holds the lock: a leak rotation is retried instead (it
 * must not be dropped), unless a fleet run started it: the run is told (RotationInProgressError,
 * outcome `rejected`) and reports the leak instead, which has the intake complete the rotation in
 * progress at once, as `rotator emergency <clientId>` does.
 */
function lockRefusal(client: ClientRef, heldBy: RotationLock, request: LockRequest): Error {
  if (request.trigger === 'leak' && request.fleetRun === undefined) {
    return new LeakWaitingForLockError(client.clientId, heldBy.rotationId);
  }
  return new RotationInProgressError(client.clientId, heldBy.rotationId);
}

/** Stores the next secret as AWSPENDING; its index entry is written with the record (the caller's). */
async function storePending(
  deps: StepDeps,
  client: ClientRef,
  rotationId: string,
  current: ManagedSecretValue,
  started: StartedSecret,
): Promise<void> {
  await deps.secrets.putPending(
    client,
    rotationId,
    {
      projectId: current.projectId,
      clientId: client.clientId,
      clientSecret: started.secret,
      tokenUrl: current.tokenUrl,
    },
    { indexedByCaller: true, ...(started.known === undefined ? {} : { known: started.known }) },
  );
}

/** The index entry of `value`'s secret (version `versionId`), now at `stage`. */
function indexEntry(
  deps: StepDeps,
  client: ClientRef,
  value: Pick<ManagedSecretValue, 'clientSecret'>,
  versionId: string,
  stage: FingerprintStage,
): Promise<FingerprintEntry> {
  return fingerprintEntry(deps.fingerprints, client, value.clientSecret, versionId, stage, deps.clock.now());
}
