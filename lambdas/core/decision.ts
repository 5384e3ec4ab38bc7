import type {
  Clock,
  ConsumerReport,
  DecisionAnswer,
  LedgerPort,
  RotationRecord,
  TaskCallbackPort,
} from './ports.js';
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

/** A decision that is made, with the answer it owes the waiting task. */
export interface DecidedWait {
  readonly decision: Exclude<WaitDecision, { kind: 'waiting' }>;
  readonly answer: DecisionAnswer;
}

/**
 * What the waiter's own context decides before it reads the record: with no consumer expected,
 * `healthy` (`no_consumers_expected`), as {@link decideWait} decides every record that expects no
 * consumer and that no leak escalated; otherwise null (the reports decide). The waiter may claim it
 * only on those conditions ({@link LedgerPort.keepTokenAndClaim}).
 */
export function decideFromContext(expectedConsumers: readonly string[]): DecidedWait | null {
  if (expectedConsumers.length > 0) return null;
  const decision = { kind: 'healthy', result: { reason: 'no_consumers_expected' } } as const;
  return { decision, answer: { kind: 'succeed', reason: decision.result.reason } };
}

/** The error name AwaitConsumers fails with when a consumer reports unhealthy (matched by Catch). */
export const CONSUMER_UNHEALTHY_ERROR = 'ConsumerUnhealthy';
/** The error name AwaitConsumers fails with when the pending secret leaked (matched by Catch). */
export const LEAK_OF_PENDING_ERROR = 'LeakOfPendingSecret';

/** Who is answering: the waiting step itself (AwaitConsumers), or anyone else (a report, a leak). */
export interface AnswerOptions {
  /**
   * The caller is the waiting step: a claim it makes is kept as the waiter's (`decidedBy`), and it
   * sends a claimed answer nobody recorded as sent even when the waiter claimed it (a retry of
   * the waiter that died between its claim and its send).
   */
  readonly asWaiter?: boolean;
}

/**
 * Answers the waiting task once a decision exists. The decision is claimed once across every racer
 * (the waiter and each report), with the answer it owes; the claimer sends it and records that it
 * did. A caller that finds the decision claimed but never answered (its decider died between the
 * claim and the send, and EventBridge retries the report) sends the claimed answer itself: a task
 * answered twice is not an error (the second answer finds the task gone), a task never answered
 * would sit until its deadline and cancel a rotation every consumer had verified.
 *
 * A claim of the waiter is the exception: Step Functions retries the waiter until it has sent its
 * answer (or the task has failed, and nobody waits for an answer any more), so the waiter records
 * no answer and nobody else sends it.
 */
export async function answerWaitIfDecided(
  deps: { readonly ledger: LedgerPort; readonly callbacks: TaskCallbackPort; readonly clock: Clock },
  record: RotationRecord,
  options: AnswerOptions = {},
): Promise<WaitDecision> {
  const decision = decideWait(record);
  if (decision.kind === 'waiting' || record.taskToken === undefined) return decision;
  const asWaiter = options.asWaiter === true;
  const { clientId, rotationId } = record;
  const decidedAt = deps.clock.now().toISOString();
  let answer: DecisionAnswer | undefined = answerFor(decision, record);
  const claimed = asWaiter
    ? await deps.ledger.claimDecision(clientId, rotationId, decidedAt, answer, 'waiter')
    : await deps.ledger.claimDecision(clientId, rotationId, decidedAt, answer);
  let byWaiter = asWaiter;
  if (!claimed) {
    const current = await deps.ledger.getRotation(clientId, rotationId);
    byWaiter = current?.decidedBy === 'waiter';
    // Answered already, claimed by an older version that kept no answer, or claimed by the waiter
    // (which answers it; unless this is the waiter, run again): nothing to send.
    answer = current?.answeredAt === undefined && (asWaiter || !byWaiter) ? current?.decision : undefined;
    if (answer === undefined) return decision;
  }
  await sendAnswer(deps.callbacks, record.taskToken, answer);
  if (!byWaiter) {
    await deps.ledger.markAnswered(clientId, rotationId, deps.clock.now().toISOString());
  }
  return decision;
}

/** Sends `answer` to the waiting task (SendTaskSuccess or SendTaskFailure). */
export async function sendAnswer(
  callbacks: TaskCallbackPort,
  taskToken: string,
  answer: DecisionAnswer,
): Promise<void> {
  if (answer.kind === 'succeed') {
    await callbacks.succeed(taskToken, { reason: answer.reason });
  } else {
    await callbacks.fail(taskToken, answer.error, answer.cause);
  }
}

/** The callback a decision owes the waiting task. */
function answerFor(
  decision: Exclude<WaitDecision, { kind: 'waiting' }>,
  record: RotationRecord,
): DecisionAnswer {
  if (decision.kind === 'healthy') return { kind: 'succeed', reason: decision.result.reason };
  if (decision.kind === 'leak_of_pending') {
    return {
      kind: 'fail',
      error: LEAK_OF_PENDING_ERROR,
      cause: JSON.stringify({ pendingLastFour: record.pendingLastFour ?? 'unknown' }),
    };
  }
  return {
    kind: 'fail',
    error: CONSUMER_UNHEALTHY_ERROR,
    cause: JSON.stringify({ consumer: decision.consumer, detail: decision.detail ?? 'no detail' }),
  };
}
