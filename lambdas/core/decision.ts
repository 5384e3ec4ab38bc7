import type { Clock, ConsumerReport, LedgerPort, RotationRecord, TaskCallbackPort } from './ports.js';
import type { AwaitResult } from './state.js';

/**
 * The report `consumer` sent, if any. An own-property lookup: the reports are a plain object keyed
 * by consumer name, and `reports[consumer]` would find `Object.prototype`'s member for a consumer
 * named `constructor`, `toString`, `valueOf`, … and take it for a report.
 */
export function reportOf(reports: RotationRecord['reports'], consumer: string): ConsumerReport | undefined {
  return Object.hasOwn(reports, consumer) ? reports[consumer] : undefined;
}

/** What the consumer reports so far say about the pending secret. */
export type WaitDecision =
  | { readonly kind: 'waiting' }
  | { readonly kind: 'healthy'; readonly result: AwaitResult }
  | { readonly kind: 'unhealthy'; readonly consumer: string; readonly detail: string | undefined }
  | { readonly kind: 'leak_of_pending' };

/**
 * Decides the wait from a rotation record. A leak outranks every report: a leaked pending secret
 * cancels the rotation (it must never become current), a leaked current secret completes it at
 * once (the consumers' wait is no reason to keep a leaked secret alive). Otherwise the first unhealthy report of an expected consumer
 * decides "unhealthy"; healthy reports from every expected consumer decide "healthy"; no expected
 * consumers at all decides "healthy" at once.
 */
export function decideWait(record: RotationRecord): WaitDecision {
  if (record.escalatedCancel !== undefined) return { kind: 'leak_of_pending' };
  if (record.escalatedComplete !== undefined) {
    return { kind: 'healthy', result: { reason: 'leak_escalated' } };
  }
  if (record.expectedConsumers.length === 0) {
    return { kind: 'healthy', result: { reason: 'no_consumers_expected' } };
  }
  if (record.trigger === 'leak') {
    // A leak rotation is fail-secure: an unhealthy report must not keep the leaked secret alive
    // (cancelling would). It is recorded; the rotation completes once every consumer has answered,
    // or at its deadline, whichever comes first.
    const answered = record.expectedConsumers.every(
      (consumer) => reportOf(record.reports, consumer) !== undefined,
    );
    if (!answered) return { kind: 'waiting' };
    const allHealthy = record.expectedConsumers.every(
      (consumer) => reportOf(record.reports, consumer)?.healthy === true,
    );
    return { kind: 'healthy', result: { reason: allHealthy ? 'all_consumers_healthy' : 'leak_fail_secure' } };
  }
  const unhealthy = record.expectedConsumers
    .map((consumer) => ({ consumer, report: reportOf(record.reports, consumer) }))
    .filter(({ report }) => report !== undefined && !report.healthy)
    .sort((a, b) => (a.report?.reportedAt ?? '').localeCompare(b.report?.reportedAt ?? ''))[0];
  if (unhealthy !== undefined) {
    return { kind: 'unhealthy', consumer: unhealthy.consumer, detail: unhealthy.report?.detail };
  }
  const allHealthy = record.expectedConsumers.every(
    (consumer) => reportOf(record.reports, consumer)?.healthy === true,
  );
  return allHealthy ? { kind: 'healthy', result: { reason: 'all_consumers_healthy' } } : { kind: 'waiting' };
}

/** The error name AwaitConsumers fails with when a consumer reports unhealthy (matched by Catch). */
export const CONSUMER_UNHEALTHY_ERROR = 'ConsumerUnhealthy';
/** The error name AwaitConsumers fails with when the pending secret leaked (matched by Catch). */
export const LEAK_OF_PENDING_ERROR = 'LeakOfPendingSecret';

/**
 * Answers the waiting task once a decision exists, exactly once across every racer (the waiter
 * and each report): only the caller that claims the decision sends the callback.
 */
export async function answerWaitIfDecided(
  deps: { readonly ledger: LedgerPort; readonly callbacks: TaskCallbackPort; readonly clock: Clock },
  record: RotationRecord,
): Promise<WaitDecision> {
  const decision = decideWait(record);
  if (decision.kind === 'waiting' || record.taskToken === undefined) return decision;
  const claimed = await deps.ledger.claimDecision(
    record.clientId,
    record.rotationId,
    deps.clock.now().toISOString(),
  );
  if (!claimed) return decision;
  if (decision.kind === 'healthy') {
    await deps.callbacks.succeed(record.taskToken, decision.result);
  } else if (decision.kind === 'leak_of_pending') {
    await deps.callbacks.fail(
      record.taskToken,
      LEAK_OF_PENDING_ERROR,
      JSON.stringify({ pendingLastFour: record.pendingLastFour ?? 'unknown' }),
    );
  } else {
    await deps.callbacks.fail(
      record.taskToken,
      CONSUMER_UNHEALTHY_ERROR,
      JSON.stringify({ consumer: decision.consumer, detail: decision.detail ?? 'no detail' }),
    );
  }
  return decision;
}
