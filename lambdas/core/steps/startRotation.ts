import { LOCK_GRACE_SECONDS, type StepDeps } from '../deps.js';
import type { RotationStartedDetail } from '../events.js';
import { indexCurrent } from '../fingerprintedSecrets.js';
import { resolvePolicy } from '../policy.js';
import type { ClientRef, ManagedSecretValue, RotationRecord } from '../ports.js';
import {
  AlreadyRotatingError,
  NotEnrolledError,
  NotRotatingError,
  RotationInProgressError,
  UnknownClientError,
} from '../rotationErrors.js';
import type { Secret } from '../secret.js';
import { type RotationContext, rotationIdFor, StartInputSchema } from '../state.js';
import { parseOrThrow } from '../validate.js';
import { WorkflowInputSchema } from '../workflow.js';

/**
 * Step 1, StartRotation: take the client's lock, start the rotation at Stytch, keep the one-time
 * next secret as AWSPENDING (version id = rotation id), and prove it mints a verifiable token.
 *
 * Every retry converges: a pending version this rotation already stored is reused; Stytch saying
 * "already rotating" while no matching AWSPENDING exists means the one-time secret was lost (a
 * crash, a lost response), so that rotation is cancelled at Stytch and started again.
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

  const lock = await deps.ledger.acquireLock(
    {
      clientId: client.clientId,
      rotationId,
      expiresAt: new Date(deadline.getTime() + LOCK_GRACE_SECONDS * 1000).toISOString(),
    },
    now,
  );
  if (!lock.acquired) throw new RotationInProgressError(client.clientId, lock.heldBy.rotationId);
  // With the lock held nothing moves AWSCURRENT: index it (a leak report can then find a client
  // enrolled from outside, from its first rotation on).
  await indexCurrent({ ...deps, index: deps.ledger }, client, current);

  // The first attempt creates the record; `Rotation Started` goes out until one attempt has
  // recorded that it did (at least once, like every event: consumers dedupe by rotationId).
  const record = await deps.ledger.createRotation(
    newRecord(input, client, rotationId, executionId, policy, now),
  );
  const startedAt = record.steps.started ?? now.toISOString();
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
    (await reusablePending(deps, client, rotationId)) ?? (await startAtStytch(deps, client, rotationId));
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
): Promise<Secret | null> {
  const versions = await deps.secrets.versions(client);
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
  const versions = await deps.secrets.versions(client);
  deps.logger.warn(
    'Stytch has a rotation pending whose secret we do not hold; cancelling it and starting again',
    {
      clientId: client.clientId,
      rotationId,
      stalePendingVersionId: versions.pendingVersionId,
    },
  );
  if (versions.pendingVersionId !== null && versions.pendingVersionId !== rotationId) {
    await deps.secrets.removePending(client, versions.pendingVersionId);
  }
  try {
    await deps.stytch.cancelRotation(client);
  } catch (error) {
    // Someone completed or cancelled it meanwhile: nothing left to cancel.
    if (!(error instanceof NotRotatingError)) throw error;
  }
  return (await deps.stytch.startRotation(client)).nextSecret;
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
