import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';

import type { Command } from 'commander';
import type { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { SfnExecutionStatus } from '#adapters/aws/SfnExecutionStatus.js';
import type { Trigger } from '#core/model.js';
import type { ConsumerReport } from '#core/ports.js';
import { rotationIdFor } from '#core/state.js';
import { ExitCode } from '../errors.js';
import type { CommandContext } from '../exec.js';
import type { CliIo } from '../io.js';
import { CLI_LEAK_SOURCE, publishLeak } from '../leakEvents.js';
import { assertManaged } from '../managed.js';
import {
  type AwsClients,
  addResourceOptions,
  optionalResource,
  parseClientId,
  type ResourceFlags,
  requestedBy,
  resolveResource,
  resolveSecretPrefix,
  usageError,
  withAws,
} from '../resources.js';
import { forTerminal, jsonLine } from '../terminalText.js';

/** Raw flags of `rotate` and `emergency`. */
interface RotateFlags extends ResourceFlags {
  readonly reason?: string;
  readonly wait?: boolean;
  readonly json?: boolean;
}

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
  readonly durationMs: number;
  readonly steps: readonly StepTiming[];
  readonly reports: Readonly<Record<string, ConsumerReport>>;
}

export const EXIT_CODES_HELP =
  '\nExit codes: 0 ok; 1 the operation ended badly (rotation cancelled, failed, rejected, invalid\n' +
  'request, or nothing to act on); 2 usage or setup error (one line on stderr).';

const POLL_MS = 250;

/** Registers `rotator rotate` (trigger manual) and `rotator emergency` (trigger leak). */
export function registerRotateCommands(program: Command, context: CommandContext): void {
  const rotate = program
    .command('rotate')
    .summary('rotate a managed client now (trigger manual)')
    .description(
      'Start a rotation of <clientId> (trigger manual: if consumers do not all report healthy before the ' +
        'deadline, it is cancelled and nothing breaks). With --wait, follow it live: each state entered ' +
        'with the elapsed time, consumer reports as they arrive, and the outcome.',
    )
    .argument('<clientId>', 'the managed Stytch client id')
    .option('--reason <text>', 'why (kept in the ledger and the events; 1-500 characters)');
  addFollowOptions(rotate);
  rotate.action(async (clientId: string, flags: RotateFlags) => {
    context.setExitCode(await startRotation(context.io, clientId, 'manual', flags));
  });

  const emergency = program
    .command('emergency')
    .summary('rotate a leaked secret now (trigger leak, reason required)')
    .description(
      'Start an emergency rotation of <clientId> (trigger leak: when the deadline passes the rotation ' +
        'completes anyway, so the leaked secret dies even if a consumer is not ready). --reason is required.',
    )
    .argument('<clientId>', 'the managed Stytch client id')
    .option('--reason <text>', 'why (required; kept in the ledger and the events; 1-500 characters)');
  addFollowOptions(emergency);
  emergency.action(async (clientId: string, flags: RotateFlags) => {
    if (flags.reason === undefined) throw usageError('emergency needs --reason <text> (what leaked, where)');
    context.setExitCode(await startRotation(context.io, clientId, 'leak', flags));
  });
}

function addFollowOptions(command: Command): void {
  command
    .option('--wait', 'follow the rotation until it ends (default when stdout is a terminal)')
    .option('--no-wait', 'print the execution ARN and return at once (default otherwise)')
    .option(
      '--json',
      'print one JSON document: {executionArn, rotationId} without --wait; with --wait ' +
        '{executionArn, rotationId, clientId, trigger, outcome, reason?, detail?, durationMs, ' +
        'steps:[{name, atMs, ms}], reports:{<consumer>:{healthy, detail?, reportedAt}}}',
    );
  addResourceOptions(command, ['stateMachineArn', 'secretPrefix', 'table', 'eventBus']);
  command.addHelpText(
    'after',
    `${EXIT_CODES_HELP}\nA client the deployment does not manage (no secret <prefix>/<clientId>) is refused with exit 2\n` +
      'before any execution starts.\n' +
      '(--table is optional here: with it, --wait also shows consumer reports, and emergency checks\n' +
      'for a rotation in progress: it then reports the leak on --event-bus, which has that rotation complete at\n' +
      'once, and follows it, instead of being rejected. rotate does not use --event-bus.)\n' +
      '\nExamples:\n' +
      `  $ rotator ${command.name()} m2m-client-test-billing-worker --reason "quarterly" --wait\n` +
      `  $ rotator ${command.name()} m2m-client-test-billing-worker --reason "ticket 42" --no-wait --json`,
  );
}

async function startRotation(io: CliIo, rawClientId: string, trigger: Trigger, flags: RotateFlags) {
  const clientId = parseClientId(rawClientId);
  const reason = flags.reason?.trim();
  if (reason !== undefined && (reason.length < 1 || reason.length > 500)) {
    throw usageError('--reason must be 1 to 500 characters');
  }
  const stateMachineArn = resolveResource('stateMachineArn', flags, io);
  const prefix = resolveSecretPrefix(flags, io);
  const wait = flags.wait ?? io.stdout.isTTY === true;
  const table = optionalResource('table', flags, io);
  const json = flags.json === true;

  return withAws(io, async (aws) => {
    // The workflow would refuse it too, but only after an execution that can only fail.
    await assertManaged(aws, { clientId, prefix });
    // An emergency while a rotation runs must not be refused: it preempts that rotation through
    // the leak intake (complete it now), and we follow it.
    const preempted =
      trigger === 'leak' && table !== undefined
        ? await preemptRunning(aws, io, { clientId, table, flags, reason: reason ?? 'emergency' })
        : undefined;
    if (preempted !== undefined) {
      if (!wait) {
        io.stdout.write(json ? jsonLine(preempted) : `${forTerminal(preempted.executionArn)}\n`);
        return ExitCode.ok;
      }
      if (!json) {
        io.stdout.write(
          `A rotation of ${clientId} is in progress: the leak preempts it (completes it now): ${forTerminal(preempted.executionArn)}\n`,
        );
      }
      const result = await followExecution(aws, io, {
        executionArn: preempted.executionArn,
        clientId,
        live: !json,
        ledger: aws.ledger(table ?? ''),
      });
      writeResult(io, result, { clientId, trigger, json });
      return result.outcome === 'completed' ? ExitCode.ok : ExitCode.failed;
    }
    const input = {
      clientId,
      trigger,
      ...(reason === undefined ? {} : { reason }),
      requestedBy: requestedBy(io),
    };
    const started = await aws.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
    );
    const executionArn = started.executionArn ?? '';
    const rotationId = rotationIdFor(executionArn);
    if (!wait) {
      io.stdout.write(json ? jsonLine({ executionArn, rotationId }) : `${forTerminal(executionArn)}\n`);
      return ExitCode.ok;
    }
    if (!json) io.stdout.write(`Rotating ${clientId} (${trigger}): ${forTerminal(executionArn)}\n`);
    const result = await followExecution(aws, io, {
      executionArn,
      clientId,
      live: !json,
      ...(table === undefined ? {} : { ledger: aws.ledger(table) }),
    });
    writeResult(io, result, { clientId, trigger, json });
    return result.outcome === 'completed' ? ExitCode.ok : ExitCode.failed;
  });
}

/**
 * When a rotation of the client is in progress, reports the leak on the bus (the intake then has
 * that rotation complete at once) and returns that rotation's execution; undefined when none runs.
 */
async function preemptRunning(
  aws: AwsClients,
  io: CliIo,
  options: {
    readonly clientId: string;
    readonly table: string;
    readonly flags: RotateFlags;
    readonly reason: string;
  },
): Promise<{ executionArn: string; rotationId: string; preempted: true } | undefined> {
  const ledger = aws.ledger(options.table);
  const lock = await ledger.getLock(options.clientId);
  if (lock === null || Date.parse(lock.expiresAt) <= Date.now()) return undefined;
  const running = await ledger.getRotation(options.clientId, lock.rotationId);
  if (running === null || (running.status !== 'started' && running.status !== 'pending')) return undefined;
  // A lock whose execution was stopped or failed is no rotation to preempt: the emergency starts
  // its own leak rotation, which takes that lock over after reconciling the client.
  if ((await new SfnExecutionStatus({ client: aws.sfn }).status(running.executionId)) !== 'RUNNING')
    return undefined;
  await publishLeak(aws, resolveResource('eventBus', options.flags, io), {
    clientId: options.clientId,
    source: CLI_LEAK_SOURCE,
    requestedBy: requestedBy(io),
    reference: options.reason.slice(0, 2048),
    detectedAt: new Date().toISOString(),
  });
  return { executionArn: running.executionId, rotationId: running.rotationId, preempted: true };
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

/**
 * Polls DescribeExecution and GetExecutionHistory every ~250 ms until the execution ends;
 * when `live`, prints each state entered (elapsed time) and each new consumer report (from the
 * ledger, when one is given). When the io's signal aborts it stops following (the rotation goes
 * on) and reports what it saw so far as `aborted`.
 */
export async function followExecution(
  aws: AwsClients,
  io: CliIo,
  options: {
    readonly executionArn: string;
    readonly clientId: string;
    readonly live: boolean;
    readonly ledger?: DynamoLedger;
  },
): Promise<FollowResult> {
  const { executionArn, clientId, live, ledger } = options;
  const rotationId = rotationIdFor(executionArn);
  const seenEvents = new Set<number>();
  const entered: { name: string; at: number }[] = [];
  const reports: Record<string, ConsumerReport> = {};
  let refusedSeen = 0;
  let startedAt: number | undefined;

  for (;;) {
    const described = await aws.sfn.send(new DescribeExecutionCommand({ executionArn }));
    startedAt ??= described.startDate?.getTime() ?? Date.now();
    const events = await fullHistory(aws, executionArn);
    for (const event of events) {
      if (seenEvents.has(event.id ?? -1)) continue;
      seenEvents.add(event.id ?? -1);
      const name = event.stateEnteredEventDetails?.name;
      if (name === undefined || !event.type?.endsWith('StateEntered')) continue;
      const at = event.timestamp?.getTime() ?? Date.now();
      entered.push({ name, at });
      if (live) io.stdout.write(`  ${seconds(at - startedAt).padStart(8)}  ${forTerminal(name, 100)}\n`);
    }
    if (ledger !== undefined) {
      const record = await ledger.getRotation(clientId, rotationId).catch(() => null);
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
      refusedSeen = Math.max(refusedSeen, refusedCount);
    }
    if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') {
      return finish(described, events, { executionArn, rotationId, startedAt, entered, reports });
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

function finish(
  described: DescribeExecutionCommandOutput,
  events: readonly HistoryEvent[],
  seen: {
    executionArn: string;
    rotationId: string;
    startedAt: number;
    entered: { name: string; at: number }[];
    reports: Record<string, ConsumerReport>;
  },
): FollowResult {
  const end = described.stopDate?.getTime() ?? Date.now();
  const base = {
    executionArn: seen.executionArn,
    rotationId: seen.rotationId,
    durationMs: end - seen.startedAt,
    steps: timings(seen.entered, end),
    reports: seen.reports,
  };
  if (described.status === 'SUCCEEDED') {
    const output = parseJson(described.output) as
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

function errorOf(described: DescribeExecutionCommandOutput): { reason?: string } {
  return described.error === undefined ? {} : { reason: described.error };
}

/** The message of the last task that failed (e.g. why StartRotation rejected the input). */
function lastTaskFailure(events: readonly HistoryEvent[]): string | undefined {
  for (const event of [...events].reverse()) {
    const failure = event.lambdaFunctionFailedEventDetails ?? event.taskFailedEventDetails;
    if (failure === undefined) continue;
    const cause = parseJson(failure.cause) as { errorMessage?: unknown } | undefined;
    const message = typeof cause?.errorMessage === 'string' ? cause.errorMessage : failure.cause;
    return oneLine(`${failure.error ?? 'Error'}: ${message ?? ''}`);
  }
  return undefined;
}

async function fullHistory(aws: AwsClients, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await aws.sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        maxResults: 1000,
        includeExecutionData: false,
        nextToken,
      }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return events;
}

function timings(entered: readonly { name: string; at: number }[], end: number): StepTiming[] {
  const first = entered[0]?.at ?? end;
  return entered.map((step, index) => ({
    name: step.name,
    atMs: Math.max(0, step.at - first),
    ms: Math.max(0, (entered[index + 1]?.at ?? end) - step.at),
  }));
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Outsider text (an error's cause, a task's failure message) as one bounded, escaped line. */
export function oneLine(text: string): string {
  return forTerminal(text);
}

export function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(2)}s`;
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
