import type { StepDeps } from './deps.js';
import { ExecutionStatusChangeSchema } from './events.js';
import type { ClientRef, ExecutionStatus, RotationLock, RotationRecord } from './ports.js';
import { unansweredLeak } from './preemption.js';
import { type ReconcileResult, reconcileClient } from './reconcile.js';
import { NeedsOperatorError } from './rotationErrors.js';
import { rotationIdFor } from './state.js';
import { WorkflowInputSchema } from './workflow.js';

/**
 * Locks whose execution is no longer running. A rotation's lock is released by the step that ends
 * it; an execution that is stopped (the console's Stop button), fails, or times out ends without
 * that step, so its lock would stay until deadline + grace and swallow leak reports meanwhile.
 * Three places recover such a lock, each with the one reconciliation rule:
 * - the execution reconciler, on the state machine's own status-change event (at once);
 * - StartRotation, when the lock it needs is held by an execution that is not running;
 * - the leak intake, which does not escalate a rotation whose execution has ended.
 */

/** Whether a record has reached a state that never changes again. */
export function isTerminal(record: Pick<RotationRecord, 'status'>): boolean {
  return record.status === 'completed' || record.status === 'cancelled' || record.status === 'failed';
}

/** What is known of a lock's holder: its record, and whether its execution still runs. */
export interface LockHolder {
  readonly record: RotationRecord | null;
  /** The holder's execution status; `unknown` when the lock names no execution we can ask about. */
  readonly status: ExecutionStatus | 'unknown' | 'gone';
  /** True unless its execution is known to have ended. */
  readonly alive: boolean;
}

/** Looks up the holder of `lock`: alive unless Step Functions says its execution ended (or is gone). */
export async function lockHolder(
  deps: Pick<StepDeps, 'ledger' | 'executions'>,
  lock: RotationLock,
): Promise<LockHolder> {
  const record = await deps.ledger.getRotation(lock.clientId, lock.rotationId);
  const executionId = lock.executionId ?? record?.executionId;
  // A lock taken by an execution that died before writing its record names no execution (locks
  // from before executions were recorded): only its expiry frees it.
  if (executionId === undefined) return { record, status: 'unknown', alive: true };
  const status = await deps.executions.status(executionId);
  if (status === null) return { record, status: 'gone', alive: false };
  return { record, status, alive: status === 'RUNNING' };
}

/** What ending a stale rotation did. */
export interface StaleRotationEnd {
  readonly reconciled: ReconcileResult;
  /** The record after it was marked failed (null when the holder never wrote one). */
  readonly record: RotationRecord | null;
}

/**
 * Makes the client of a dead rotation whole (the reconciliation rule), marks its record `failed`
 * if nothing ended it, announces `Rotation Failed` then, and re-sends a leak it left unanswered.
 * The caller decides what happens to the lock (released, or taken over). A client that needs an
 * operator is not touched and `NeedsOperatorError` is thrown.
 */
export async function endStaleRotation(
  deps: StepDeps,
  client: ClientRef,
  holder: { readonly rotationId: string; readonly record: RotationRecord | null; readonly status: string },
): Promise<StaleRotationEnd> {
  const reconciled = await reconcileClient(deps, client);
  if (reconciled.plan.verdict === 'needs_operator') {
    throw new NeedsOperatorError(client.clientId, reconciled.plan.finding);
  }
  const now = deps.clock.now().toISOString();
  let record = holder.record;
  // Closed by an attempt that died before announcing it: announce again (events are at least once).
  const closedByUs =
    record !== null && record.status === 'failed' && record.outcomeReason === 'execution_ended';
  if (record !== null && (!isTerminal(record) || closedByUs)) {
    const message = `its execution is ${holder.status}; the client was reconciled (${
      reconciled.applied.map((action) => action.kind).join(', ') || 'nothing to do'
    })`;
    if (!closedByUs) {
      record = await deps.ledger.updateRotation(client.clientId, holder.rotationId, {
        status: 'failed',
        outcomeReason: 'execution_ended',
        error: { name: 'ExecutionEnded', message },
        steps: { failed: now },
      });
    }
    await deps.events.publish({
      detailType: 'Rotation Failed',
      detail: {
        rotationId: holder.rotationId,
        clientId: client.clientId,
        clientKind: client.kind,
        trigger: record.trigger,
        state: 'ExecutionEnded',
        error: { name: 'ExecutionEnded', message },
        failedAt: now,
      },
    });
    deps.logger.warn('Rotation ended without its last step; client reconciled', {
      clientId: client.clientId,
      rotationId: holder.rotationId,
      executionStatus: holder.status,
      actions: reconciled.applied.map((action) => action.kind),
    });
  }
  return { reconciled, record };
}

/** The leak a stale rotation left unanswered, to send once its lock is free. */
export function leakLeftBy(end: StaleRotationEnd, at: string) {
  if (end.record === null) return null;
  const completed = end.reconciled.applied.some((action) => action.kind === 'complete_at_stytch');
  return unansweredLeak(end.record, completed ? 'completed' : 'cancelled', at);
}

/** What the reconciler did with one execution status change. */
export type ExecutionReconcilerResult =
  | { readonly result: 'ignored'; readonly why: string }
  | { readonly result: 'still_running'; readonly clientId: string }
  | { readonly result: 'not_holding'; readonly clientId: string }
  | {
      readonly result: 'reconciled';
      readonly clientId: string;
      readonly rotationId: string;
      readonly actions: readonly string[];
    };

/**
 * The execution reconciler, behind the rule on the state machine's `Step Functions Execution
 * Status Change` events (FAILED, ABORTED, TIMED_OUT): the rotation the execution ran is ended
 * (reconciled, marked failed, announced) and its lock released, so the client can rotate, and a
 * leak report for it can start a leak rotation, at once. Idempotent: a redelivery finds the lock
 * released and does nothing.
 */
export async function reconcileEndedExecution(
  deps: StepDeps,
  event: { readonly detail?: unknown },
): Promise<ExecutionReconcilerResult> {
  const parsed = ExecutionStatusChangeSchema.safeParse(event.detail);
  if (!parsed.success) return { result: 'ignored', why: 'not an execution status change' };
  const { executionArn, status } = parsed.data;
  if (status !== 'FAILED' && status !== 'ABORTED' && status !== 'TIMED_OUT') {
    return { result: 'ignored', why: `status ${status}` };
  }
  let rawInput: unknown;
  try {
    rawInput = JSON.parse(parsed.data.input ?? 'null');
  } catch {
    rawInput = null;
  }
  const input = WorkflowInputSchema.safeParse(rawInput);
  if (!input.success) return { result: 'ignored', why: 'the execution input names no client' };
  const clientId = input.data.clientId;
  const settings = await deps.clients.find(clientId);
  if (settings === undefined) return { result: 'ignored', why: 'not a managed client' };
  const client: ClientRef = { clientId, kind: settings.kind };
  const rotationId = rotationIdFor(executionArn);

  const lock = await deps.ledger.getLock(clientId);
  const record = await deps.ledger.getRotation(clientId, rotationId);
  if (lock?.rotationId !== rotationId) {
    // It holds nothing (refused at the start, or its last step released the lock already). A record
    // left open by a lock that was taken over is closed without touching the client.
    if (record !== null && !isTerminal(record)) {
      await deps.ledger.updateRotation(clientId, rotationId, {
        status: 'failed',
        outcomeReason: 'execution_ended',
        error: { name: 'ExecutionEnded', message: `its execution is ${status}` },
        steps: { failed: deps.clock.now().toISOString() },
      });
    }
    return { result: 'not_holding', clientId };
  }
  // The event says the execution ended; Step Functions is asked again, so an early or repeated
  // event can never end a rotation that still runs.
  if ((await deps.executions.status(executionArn)) === 'RUNNING')
    return { result: 'still_running', clientId };

  const end = await endStaleRotation(deps, client, { rotationId, record, status });
  await deps.ledger.releaseLock(clientId, rotationId);
  const leak = leakLeftBy(end, deps.clock.now().toISOString());
  if (leak !== null) await deps.events.publish(leak);
  return {
    result: 'reconciled',
    clientId,
    rotationId,
    actions: end.reconciled.applied.map((action) => action.kind),
  };
}
