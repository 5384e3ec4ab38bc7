import type { StepDeps } from '../deps.js';
import type { ClientRef } from '../ports.js';
import { unansweredLeak } from '../preemption.js';
import { reconcileClient } from '../reconcile.js';
import { InconsistentStateError, NeedsOperatorError } from '../rotationErrors.js';
import { CancelInputSchema, causeMessage, type Outcome, rotationIdFor } from '../state.js';
import { parseOrThrow } from '../validate.js';
import { WorkflowInputSchema } from '../workflow.js';

/**
 * Step 5, CancelRotation: remove AWSPENDING first (readers fall back to the still-valid current
 * secret), then cancel at Stytch (the next secret stops working); record, release the lock,
 * announce. Works even when StartRotation failed half-way: it then derives the rotation from the
 * execution, and undoes whatever part of the start happened.
 */
export async function cancelRotation(deps: StepDeps, raw: unknown): Promise<Outcome> {
  const parsed = parseOrThrow(CancelInputSchema, raw, 'CancelRotation input');
  const input = parseOrThrow(WorkflowInputSchema, parsed.input, 'workflow input');
  const rotationId = parsed.rotation?.rotationId ?? rotationIdFor(parsed.executionId);
  const settings = await deps.clients.find(input.clientId);
  const kind = parsed.rotation?.clientKind ?? settings?.kind;
  const reason = parsed.cancellation.reason;
  const detail = causeMessage(parsed.error) ?? parsed.error?.Error;

  const lock = await deps.ledger.getLock(input.clientId);
  const record = await deps.ledger.getRotation(input.clientId, rotationId);
  if (kind === undefined || (record === null && lock?.rotationId !== rotationId)) {
    // The start never got as far as the lock: nothing of ours exists to undo.
    deps.logger.warn('Nothing to cancel', { clientId: input.clientId, rotationId, reason });
    return { outcome: 'cancelled', reason, rotationId, clientId: input.clientId };
  }
  const client: ClientRef = { clientId: input.clientId, kind };

  const versions = await deps.secrets.versions(client);
  if (versions.currentVersionId === rotationId) {
    // Completion already moved AWSCURRENT: cancelling at Stytch now would revoke what readers use.
    throw new InconsistentStateError(
      `Rotation ${rotationId} of ${client.clientId} is already current in Secrets Manager; it cannot be cancelled`,
    );
  }
  if (versions.pendingVersionId === rotationId) await deps.secrets.removePending(client, rotationId);

  // Stytch's side is settled by the reconciliation rule: what Stytch has pending is cancelled unless
  // it already is AWSCURRENT (then it is completed: cancelling would revoke what readers use). Only
  // while no other rotation holds the lock: if one took it over, Stytch's pending secret is its own.
  if (lock === null || lock.rotationId === rotationId) {
    const { plan } = await reconcileClient(deps, client);
    if (plan.verdict === 'needs_operator') throw new NeedsOperatorError(client.clientId, plan.finding);
  }

  const now = deps.clock.now();
  const durationMs = Math.max(0, now.getTime() - Date.parse(record?.steps.started ?? now.toISOString()));
  let ended = record;
  if (record !== null) {
    ended = await deps.ledger.updateRotation(client.clientId, rotationId, {
      status: 'cancelled',
      outcomeReason: reason,
      steps: { cancelled: now.toISOString() },
      ...(parsed.error === undefined ? {} : { error: { name: parsed.error.Error, message: detail ?? '' } }),
    });
  }
  await deps.ledger.releaseLock(client.clientId, rotationId);
  await deps.events.publish({
    detailType: 'Rotation Cancelled',
    detail: {
      rotationId,
      clientId: client.clientId,
      clientKind: client.kind,
      trigger: input.trigger,
      reason,
      ...(detail === undefined ? {} : { detail: detail.slice(0, 1000) }),
      cancelledAt: now.toISOString(),
      durationMs,
    },
  });
  // Preemption: a leak that arrived while this rotation ran starts the next one (the lock is free).
  const leak = ended === null ? null : unansweredLeak(ended, 'cancelled', now.toISOString());
  if (leak !== null) await deps.events.publish(leak);
  // Counted once everything that can fail has succeeded (see completeRotation): once per end,
  // unless the Lambda dies before returning, when its events are repeated too. "Nothing to cancel"
  // above counts nothing: no rotation of ours existed (the start stopped before the lock).
  deps.metrics.rotationEnded({ trigger: input.trigger, outcome: 'cancelled', reason, durationMs });
  deps.logger.info('Rotation cancelled', { clientId: client.clientId, rotationId, reason });
  return { outcome: 'cancelled', reason, rotationId, clientId: client.clientId };
}
