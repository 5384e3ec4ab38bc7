import type { StepDeps } from '../deps.js';
import { fingerprintEntry } from '../fingerprintedSecrets.js';
import type { ClientRef, ManagedSecretValue, StoredSecretValue } from '../ports.js';
import { unansweredLeak } from '../preemption.js';
import {
  CompletionPendingError,
  InconsistentStateError,
  NotRotatingError,
  OldSecretStillValidError,
} from '../rotationErrors.js';
import { CompleteInputSchema, type Outcome, type RotationContext } from '../state.js';
import { parseOrThrow } from '../validate.js';

/**
 * Step 4, CompleteRotation: move AWSCURRENT to the pending version first (readers now get the new
 * secret, which already works), then complete at Stytch (the old secret stops working), then prove
 * the old secret is rejected; record (with the index entries of both secrets) and release the lock
 * in one write, announce.
 *
 * Idempotent: a re-run after a crash at any point finds the labels already moved or Stytch already
 * completed, checks that the result is the one intended, and carries on.
 */
export async function completeRotation(deps: StepDeps, raw: unknown): Promise<Outcome> {
  const { rotation, completion } = parseOrThrow(CompleteInputSchema, raw, 'CompleteRotation input');
  const client: ClientRef = { clientId: rotation.clientId, kind: rotation.clientKind };

  const { current, previous } = await promote(deps, client, rotation);

  // AWSCURRENT has moved: from here the only way out is forward. Whatever stops the completion
  // at Stytch or its proof is retried by the state machine under CompletionPending, for hours.
  try {
    await completeAtStytch(deps, client, rotation.pendingLastFour);
    await proveOldSecretDead(deps, client, previous);
  } catch (error) {
    throw new CompletionPendingError(client.clientId, error);
  }

  const now = deps.clock.now();
  const durationMs = Math.max(0, now.getTime() - Date.parse(rotation.startedAt));
  // The index follows the labels (moved above) with the record: leak matching goes by version id
  // and the store's labels (leakIntake.ts), so until this write only the stages the entries show lag.
  const entries = [
    await fingerprintEntry(
      deps.fingerprints,
      client,
      current.clientSecret,
      current.versionId,
      'current',
      now,
    ),
    ...(previous === null
      ? []
      : [
          await fingerprintEntry(
            deps.fingerprints,
            client,
            previous.clientSecret,
            previous.versionId,
            'previous',
            now,
          ),
        ]),
  ];
  const ended = await deps.ledger.endRotation(
    client.clientId,
    rotation.rotationId,
    { status: 'completed', outcomeReason: completion.reason, steps: { completed: now.toISOString() } },
    entries,
  );
  await deps.events.publish({
    detailType: 'Rotation Completed',
    detail: {
      rotationId: rotation.rotationId,
      clientId: client.clientId,
      clientKind: client.kind,
      trigger: rotation.trigger,
      reason: completion.reason,
      currentVersionId: rotation.pendingVersionId,
      currentLastFour: rotation.pendingLastFour,
      previousLastFour: rotation.previousLastFour,
      completedAt: now.toISOString(),
      durationMs,
    },
  });
  // Preemption: a leak of the pending secret that lost the race to this completion is now a leak
  // of the current secret; the intake answers it with a leak rotation (the lock is free). No
  // ended record: it ended with no escalation on it, so no leak waits.
  const leak = ended === null ? null : unansweredLeak(ended, 'completed', now.toISOString());
  if (leak !== null) await deps.events.publish(leak);
  // Counted once everything that can fail has succeeded: a retry of an attempt that failed
  // earlier has counted nothing, so each end counts once. Only a Lambda that dies between here and
  // its return is re-run after counting, and then its events go out twice as well: the metric is
  // exactly as at-least-once as `Rotation Completed`.
  deps.metrics.rotationEnded({
    trigger: rotation.trigger,
    outcome: 'completed',
    reason: completion.reason,
    durationMs,
  });
  deps.logger.info('Rotation completed', {
    clientId: client.clientId,
    rotationId: rotation.rotationId,
    reason: completion.reason,
    currentLastFour: rotation.pendingLastFour,
  });
  return {
    outcome: 'completed',
    reason: completion.reason,
    rotationId: rotation.rotationId,
    clientId: client.clientId,
  };
}

/**
 * Moves AWSCURRENT to the rotation's pending version, unless a previous attempt did; returns the
 * secret now current and the one it replaced (null if none). The reads that fetch both values say
 * which versions carry which labels, so no DescribeSecret is needed: AWSCURRENT first (already
 * ours: a retry after the move, which reads AWSPREVIOUS instead), then AWSPENDING.
 */
async function promote(
  deps: StepDeps,
  client: ClientRef,
  rotation: RotationContext,
): Promise<{ readonly current: StoredSecretValue; readonly previous: StoredSecretValue | null }> {
  const before = await deps.secrets.read(client, 'AWSCURRENT');
  if (before !== null && before.versionId === rotation.pendingVersionId) {
    // A retry after the labels moved. AWSPENDING may still be on it (a crash between the move and
    // the label's removal): the store removes it.
    if (before.versionStages.includes('AWSPENDING')) {
      const known = { currentVersionId: before.versionId, pendingVersionId: before.versionId };
      await deps.secrets.promotePending(client, rotation.pendingVersionId, known, { indexedByCaller: true });
    }
    return { current: before, previous: await deps.secrets.read(client, 'AWSPREVIOUS') };
  }
  const pending = await deps.secrets.read(client, 'AWSPENDING');
  if (pending === null || pending.versionId !== rotation.pendingVersionId) {
    throw new InconsistentStateError(
      `Cannot complete rotation ${rotation.rotationId} of ${rotation.clientId}: its pending version is gone`,
    );
  }
  const known = { currentVersionId: before?.versionId ?? null, pendingVersionId: pending.versionId };
  await deps.secrets.promotePending(client, rotation.pendingVersionId, known, { indexedByCaller: true });
  return { current: pending, previous: before };
}

/** rotate (complete) at Stytch; a re-run after Stytch completed is fine if Stytch's secret is ours. */
async function completeAtStytch(deps: StepDeps, client: ClientRef, pendingLastFour: string): Promise<void> {
  try {
    await deps.stytch.completeRotation(client);
  } catch (error) {
    if (!(error instanceof NotRotatingError)) throw error;
    const state = await deps.stytch.getSecretState(client);
    if (state.currentLastFour !== pendingLastFour || state.nextLastFour !== null) {
      throw new InconsistentStateError(
        `Stytch has no rotation pending for ${client.clientId} and its secret …${state.currentLastFour} ` +
          `is not the pending …${pendingLastFour}`,
      );
    }
  }
}

/**
 * Proves the containment: the previous secret (the one AWSCURRENT held before the move, as read
 * then, or AWSPREVIOUS on a retry) no longer mints (the adapter allows Stytch a bounded grace to
 * apply the change). Connected Apps have no client-credentials endpoint here, so the adapter
 * cannot test them; Stytch's state is the proof.
 */
async function proveOldSecretDead(
  deps: StepDeps,
  client: ClientRef,
  previous: ManagedSecretValue | null,
): Promise<void> {
  if (client.kind !== 'm2m') return;
  if (previous !== null && (await deps.stytch.authenticates(client, previous.clientSecret))) {
    throw new OldSecretStillValidError(client.clientId, previous.clientSecret.lastFour);
  }
}
