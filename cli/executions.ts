import type { AwsClients } from '#adapters/aws/awsClients.js';
import type { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { SfnExecutionStatus } from '#adapters/aws/SfnExecutionStatus.js';
import {
  type ExecutionDescription,
  type ExecutionHistoryEvent,
  SfnExecutions,
} from '#adapters/aws/SfnExecutions.js';
import { parseJsonOrUndefined } from '#core/json.js';
import type { ConsumerReport, ExecutionStatus, RotationRecord } from '#core/ports.js';
import { rotationIdFor } from '#core/state.js';
import type { CliIo } from './io.js';
import { oneLine, seconds } from './output.js';
import { forTerminal, jsonLine } from './terminalText.js';

/**
 * Rotations as the operator commands see them: the one in progress for a client, its execution's
 * status, and following an execution live to its end (`rotate --wait`, `emergency`, `cancel`).
 */

/** How a followed execution ended. */
export type RotationOutcome =
  | 'completed'
  | 'cancelled'
  | 'failed'
  | 'rejected'
  | 'invalid_request'
  | 'timed_out'
  | 'aborted';

/** One state the execution entered: when (ms after the start) and for how long (ms). */
export interface StepTiming {
  readonly name: string;
  readonly atMs: number;
  readonly ms: number;
}

/** What following an execution to its end found. */
export interface FollowResult {
  readonly executionArn: string;
  readonly rotationId: string;
  readonly outcome: RotationOutcome;
  /** The outcome's reason (`consumers`, `operator`, …) or the failure's error name. */
  readonly reason?: string;
  /** One line on why it failed, when it did (never a secret: error names and messages). */
  readonly detail?: string;
  /**
   * The rotation's duration: {@link rotationDurationMs} of its ledger record (as `history` shows
   * it) when a ledger was given and holds the record; else the execution's, start to stop.
   */
  readonly durationMs: number;
  readonly steps: readonly StepTiming[];
  readonly reports: Readonly<Record<string, ConsumerReport>>;
}

const POLL_MS = 250;

/**
 * A rotation's duration as every view shows it (`rotate --wait`, `history`, npm start's timeline):
 * from the ledger's `started` step to the step that ended it (completed, cancelled or failed);
 * undefined while it has not ended (or a step's time does not parse). The execution runs a little
 * longer on both sides (the state machine's first and last states), so its start-to-stop is used
 * only where there is no ledger record.
 */
export function rotationDurationMs(steps: RotationRecord['steps']): number | undefined {
  const started = Date.parse(steps.started ?? '');
  const ended = Date.parse(steps.completed ?? steps.cancelled ?? steps.failed ?? '');
  if (Number.isNaN(started) || Number.isNaN(ended)) return undefined;
  return Math.max(0, ended - started);
}

// A rotation record in one of these states has ended, whatever the lock says.
const TERMINAL = new Set(['completed', 'cancelled', 'failed']);

/**
 * The client's rotation that holds the lock and has not ended; `starting` when the lock is taken
 * but the record is not written yet (StartRotation is running); null when none is in progress.
 */
export async function activeRotation(
  aws: AwsClients,
  clientId: string,
  table: string,
): Promise<RotationRecord | 'starting' | null> {
  const ledger = aws.ledger(table);
  const lock = await ledger.getLock(clientId);
  if (lock === null) return null;
  const record = await ledger.getRotation(clientId, lock.rotationId);
  if (record === null) return Date.parse(lock.expiresAt) > Date.now() ? 'starting' : null;
  return TERMINAL.has(record.status) ? null : record;
}

/** What Step Functions says of an execution now (null: it does not know it). */
export function executionStatus(
  aws: Pick<AwsClients, 'sfn'>,
  executionArn: string,
): Promise<ExecutionStatus | null> {
  return new SfnExecutionStatus({ client: aws.sfn }).status(executionArn);
}

/** Prints the end of a followed rotation: one JSON document, or the outcome line. */
export function writeResult(
  io: CliIo,
  result: FollowResult,
  extra: { readonly clientId: string; readonly trigger?: string; readonly json: boolean },
): void {
  if (result.detail !== undefined) {
    io.stderr.write(`rotator: ${result.outcome}: ${forTerminal(result.detail)}\n`);
  }
  if (extra.json) {
    io.stdout.write(
      jsonLine({
        executionArn: result.executionArn,
        rotationId: result.rotationId,
        clientId: extra.clientId,
        ...(extra.trigger === undefined ? {} : { trigger: extra.trigger }),
        outcome: result.outcome,
        ...(result.reason === undefined ? {} : { reason: result.reason }),
        ...(result.detail === undefined ? {} : { detail: result.detail }),
        durationMs: result.durationMs,
        steps: result.steps,
        reports: result.reports,
      }),
    );
    return;
  }
  const why = result.reason === undefined ? '' : ` (${forTerminal(result.reason, 100)})`;
  io.stdout.write(`Rotation ${result.outcome}${why} after ${seconds(result.durationMs)}\n`);
}

/** What following has seen so far. */
interface Seen {
  readonly executionArn: string;
  readonly rotationId: string;
  readonly startedAt: number;
  readonly entered: { name: string; at: number }[];
  readonly reports: Record<string, ConsumerReport>;
}

/**
 * Polls DescribeExecution and GetExecutionHistory every ~250 ms until the execution ends;
 * when `live`, prints each state entered (elapsed time) and each new consumer report (from the
 * ledger, when one is given). When the io's signal aborts it stops following (the rotation goes
 * on) and reports what it saw so far as `aborted`.
 */
export async function followExecution(
  aws: Pick<AwsClients, 'sfn'>,
  io: CliIo,
  options: {
    readonly executionArn: string;
    readonly clientId: string;
    readonly live: boolean;
    readonly ledger?: DynamoLedger;
  },
): Promise<FollowResult> {
  const { executionArn, clientId, live, ledger } = options;
  const executions = new SfnExecutions({ client: aws.sfn });
  const rotationId = rotationIdFor(executionArn);
  const seenEvents = new Set<number>();
  const entered: { name: string; at: number }[] = [];
  const reports: Record<string, ConsumerReport> = {};
  let refusedSeen = 0;
  let startedAt: number | undefined;
  let record: RotationRecord | null = null;

  for (;;) {
    const described = await executions.describe(executionArn);
    startedAt ??= described.startDate?.getTime() ?? Date.now();
    const events = await executions.history(executionArn);
    for (const event of events) {
      if (seenEvents.has(event.id ?? -1)) continue;
      seenEvents.add(event.id ?? -1);
      const name = event.enteredState;
      if (name === undefined || !event.type?.endsWith('StateEntered')) continue;
      const at = event.timestamp?.getTime() ?? Date.now();
      entered.push({ name, at });
      if (live) io.stdout.write(`  ${seconds(at - startedAt).padStart(8)}  ${forTerminal(name, 100)}\n`);
    }
    if (ledger !== undefined) {
      record = await ledger.getRotation(clientId, rotationId).catch(() => null);
      refusedSeen = showReports(io, { record, reports, refusedSeen, startedAt, live });
    }
    if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') {
      const seen = { executionArn, rotationId, startedAt, entered, reports };
      return finish(described, events, seen, record);
    }
    if (io.signal.aborted) {
      io.stderr.write(`rotator: stopped following; the rotation goes on: ${forTerminal(executionArn)}\n`);
      return {
        executionArn,
        rotationId,
        outcome: 'aborted',
        reason: 'stopped_following',
        durationMs: Date.now() - startedAt,
        steps: timings(entered, Date.now()),
        reports,
      };
    }
    await sleep(POLL_MS, io.signal);
  }
}

/**
 * Adds the record's new consumer reports to `reports` and, when `live`, prints them and the
 * refused reports not shown yet; returns how many refused reports have now been seen.
 */
function showReports(
  io: CliIo,
  state: {
    readonly record: RotationRecord | null;
    readonly reports: Record<string, ConsumerReport>;
    readonly refusedSeen: number;
    readonly startedAt: number;
    readonly live: boolean;
  },
): number {
  const { record, reports, refusedSeen, startedAt, live } = state;
  for (const [consumer, report] of Object.entries(record?.reports ?? {})) {
    if (reports[consumer] !== undefined) continue;
    reports[consumer] = report;
    if (live) {
      const at = Date.parse(report.reportedAt) - startedAt;
      const detail = report.detail === undefined ? '' : `: ${forTerminal(report.detail)}`;
      io.stdout.write(
        `  ${seconds(at).padStart(8)}  consumer ${forTerminal(consumer, 100)} ${report.healthy ? 'healthy' : 'UNHEALTHY'}${detail}\n`,
      );
    }
  }
  // Reports whose sender was not the consumer they named: never counted, shown so a responder
  // sees a forgery (or a misconfigured consumer) as it happens.
  const refusedCount = record?.refusedReportCount ?? 0;
  const refused = record?.refusedReports ?? [];
  if (live && refusedCount > refusedSeen) {
    for (const entry of refused.slice(-Math.min(refused.length, refusedCount - refusedSeen))) {
      const at = Date.parse(entry.at) - startedAt;
      io.stdout.write(
        `  ${seconds(at).padStart(8)}  REFUSED ${entry.healthy ? 'a healthy' : 'an unhealthy'} report claiming consumer ` +
          `${forTerminal(entry.claimed, 100)} from source ${forTerminal(entry.source, 256)} (not counted)\n`,
      );
    }
  }
  return Math.max(refusedSeen, refusedCount);
}

function finish(
  described: ExecutionDescription,
  events: readonly ExecutionHistoryEvent[],
  seen: Seen,
  record: RotationRecord | null,
): FollowResult {
  const end = described.stopDate?.getTime() ?? Date.now();
  const fromLedger = record === null ? undefined : rotationDurationMs(record.steps);
  const base = {
    executionArn: seen.executionArn,
    rotationId: seen.rotationId,
    durationMs: fromLedger ?? end - seen.startedAt,
    steps: timings(seen.entered, end),
    reports: seen.reports,
  };
  if (described.status === 'SUCCEEDED') {
    const output = parseJsonOrUndefined(described.output) as
      | { outcome?: string; reason?: string; error?: string }
      | undefined;
    if (output?.outcome === 'rejected' || output?.outcome === 'invalid_request') {
      // A refused request ends as a succeeded execution (it pages no one) but did not rotate.
      const taskFailure = lastTaskFailure(events);
      return {
        ...base,
        outcome: output.outcome,
        ...(output.error === undefined ? {} : { reason: output.error }),
        ...(taskFailure === undefined ? {} : { detail: taskFailure }),
      };
    }
    const outcome =
      output?.outcome === 'cancelled'
        ? 'cancelled'
        : output?.outcome === 'completed'
          ? 'completed'
          : 'failed';
    return { ...base, outcome, ...(output?.reason === undefined ? {} : { reason: output.reason }) };
  }
  if (described.status === 'TIMED_OUT') return { ...base, outcome: 'timed_out' };
  if (described.status === 'ABORTED') return { ...base, outcome: 'aborted', ...errorOf(described) };
  const error = described.error;
  const outcome: RotationOutcome =
    error === 'RotationInProgressError'
      ? 'rejected'
      : error === 'InvalidRequest'
        ? 'invalid_request'
        : 'failed';
  const taskFailure = lastTaskFailure(events);
  const detail = taskFailure ?? (described.cause === undefined ? undefined : oneLine(described.cause));
  return {
    ...base,
    outcome,
    ...(error === undefined ? {} : { reason: error }),
    ...(detail === undefined ? {} : { detail }),
  };
}

function errorOf(described: ExecutionDescription): { reason?: string } {
  return described.error === undefined ? {} : { reason: described.error };
}

/** The message of the last task that failed (e.g. why StartRotation rejected the input). */
function lastTaskFailure(events: readonly ExecutionHistoryEvent[]): string | undefined {
  for (const event of [...events].reverse()) {
    const failure = event.taskFailure;
    if (failure === undefined) continue;
    const cause = parseJsonOrUndefined(failure.cause) as { errorMessage?: unknown } | undefined;
    const message = typeof cause?.errorMessage === 'string' ? cause.errorMessage : failure.cause;
    return oneLine(`${failure.error ?? 'Error'}: ${message ?? ''}`);
  }
  return undefined;
}

function timings(entered: readonly { name: string; at: number }[], end: number): StepTiming[] {
  const first = entered[0]?.at ?? end;
  return entered.map((step, index) => ({
    name: step.name,
    atMs: Math.max(0, step.at - first),
    ms: Math.max(0, (entered[index + 1]?.at ?? end) - step.at),
  }));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
