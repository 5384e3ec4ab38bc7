import { randomBytes } from 'node:crypto';
import type { AwsClients } from '#adapters/aws/awsClients.js';
import { type FleetRunDescription, FleetRunReader, FleetRuns } from '#adapters/aws/FleetRuns.js';
import {
  DEFAULT_FLEET_CONCURRENCY,
  DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
  FLEET_MAX_CONCURRENCY,
  type FleetProgress,
  fleetProgress,
  newFleetRunName,
  parseSelector,
  SELECTOR_FIELD_NAMES,
  SelectorSyntaxError,
  selects,
} from '#core/fleetRotation.js';
import { ExitCode } from './errors.js';
import type { CliIo } from './io.js';
import { seconds } from './output.js';
import {
  optionalResource,
  type ResourceFlags,
  requestedBy,
  resolveResource,
  usageError,
  withAws,
} from './resources.js';
import { forTerminal, jsonLine } from './terminalText.js';

/**
 * Fleet rotation from the CLI (`rotator rotate --all | --selector <expr>`, `rotator emergency --all |
 * --selector <expr>`): select the registered clients, write the selection, start the fleet
 * workflow (a Distributed Map over the rotation workflow), and follow its progress from the
 * ledger's byFleetRun index. See docs/fleet.md "Rotating a fleet".
 */

/** The fleet flags of `rotate` and `emergency`. */
export interface FleetFlags extends ResourceFlags {
  readonly all?: boolean;
  readonly selector?: string;
  readonly maxConcurrency?: string;
  readonly toleratedFailurePercentage?: string;
  readonly dryRun?: boolean;
  readonly reason?: string;
  readonly wait?: boolean;
  readonly json?: boolean;
}

/** Help of the selector flag: its grammar and fields. */
export const SELECTOR_HELP =
  'rotate the registered clients that match <expr>: field=value or field!=value terms joined by "," ' +
  `(all must hold), * a wildcard; fields: ${SELECTOR_FIELD_NAMES.join(', ')} (e.g. "kind=m2m,consumer=billing-api")`;

/** What `--json` prints once a run has ended (or at once, without --wait). */
export interface FleetRunResult {
  readonly fleetRun: string;
  readonly executionArn: string;
  readonly trigger: 'manual' | 'leak';
  readonly status: string;
  readonly progress: FleetProgress;
  readonly error?: string;
  readonly durationMs: number;
}

const POLL_MS = 1_000;

/** Whether the flags ask for a fleet rotation rather than one client's. */
export function isFleetRequest(flags: FleetFlags): boolean {
  return flags.all === true || flags.selector !== undefined;
}

/** Checks the flags of a fleet rotation all at once; throws one usage error naming every problem. */
function fleetSettings(flags: FleetFlags, trigger: 'manual' | 'leak') {
  const problems: string[] = [];
  if (flags.all === true && flags.selector !== undefined) problems.push('give --all or --selector, not both');
  let selector: ReturnType<typeof parseSelector> | undefined;
  if (flags.selector !== undefined) {
    try {
      selector = parseSelector(flags.selector);
    } catch (error) {
      if (!(error instanceof SelectorSyntaxError)) throw error;
      problems.push(`--selector: ${error.problems.join('; ')}`);
    }
  }
  const maxConcurrency = integerFlag(flags.maxConcurrency, DEFAULT_FLEET_CONCURRENCY);
  if (maxConcurrency === undefined || maxConcurrency < 1 || maxConcurrency > FLEET_MAX_CONCURRENCY) {
    problems.push(`--max-concurrency must be a whole number from 1 to ${FLEET_MAX_CONCURRENCY}`);
  }
  const tolerated =
    flags.toleratedFailurePercentage === undefined
      ? DEFAULT_TOLERATED_FAILURE_PERCENTAGE[trigger]
      : Number(flags.toleratedFailurePercentage);
  if (
    !(Number.isFinite(tolerated) && tolerated >= 0 && tolerated <= 100) ||
    // Number('') and Number(' ') are 0, which the range check accepts: a blank flag would silently
    // tolerate no failure.
    flags.toleratedFailurePercentage?.trim() === ''
  ) {
    problems.push('--tolerated-failure-percentage must be a number from 0 to 100');
  }
  const reason = (flags.reason ?? '').trim();
  if (flags.reason !== undefined && (reason.length < 1 || reason.length > 500)) {
    problems.push('--reason must be 1 to 500 characters');
  }
  if (problems.length > 0) throw usageError(problems.join('; '));
  return { selector, maxConcurrency: maxConcurrency as number, tolerated, reason };
}

function integerFlag(value: string | undefined, fallback: number): number | undefined {
  if (value === undefined) return fallback;
  return /^\d{1,6}$/.test(value) ? Number(value) : undefined;
}

/** `rotate --all | --selector` and `emergency --all | --selector`: returns the exit code. */
export async function rotateFleet(io: CliIo, trigger: 'manual' | 'leak', flags: FleetFlags): Promise<number> {
  const settings = fleetSettings(flags, trigger);
  const table = resolveResource('table', flags, io);
  const dryRun = flags.dryRun === true;
  const json = flags.json === true;
  const wait = flags.wait ?? io.stdout.isTTY === true;
  return withAws(io, async (aws) => {
    const registrations = await aws.ledger(table).listRegistrations({
      onUnreadable: (_key, error) =>
        io.stderr.write(`rotator: skipped an unreadable registry item: ${forTerminal(error.message)}\n`),
    });
    const selected = registrations
      .filter((client) => settings.selector === undefined || selects(settings.selector, client))
      .map((client) => client.clientId)
      .sort();
    if (selected.length === 0) {
      throw usageError(
        settings.selector === undefined
          ? 'the registry manages no client: nothing to rotate'
          : `no managed client matches --selector ${JSON.stringify(flags.selector)} (${registrations.length} managed)`,
      );
    }
    if (dryRun) {
      io.stdout.write(
        json
          ? jsonLine({ dryRun: true, trigger, selected: selected.length, clientIds: selected })
          : `Would rotate ${selected.length} of ${registrations.length} managed clients (${trigger}):\n` +
              selected.map((id) => `  ${forTerminal(id, 140)}\n`).join(''),
      );
      return ExitCode.ok;
    }
    const runs = fleetRuns(aws, flags, io);
    const fleetRun = newFleetRunName(new Date(), randomBytes(4).toString('hex'));
    const startedAt = Date.now();
    const { executionArn } = await runs.start(fleetRun, selected, {
      trigger,
      reason: settings.reason === '' ? `fleet rotation ${fleetRun}` : settings.reason,
      requestedBy: requestedBy(io),
      maxConcurrency: settings.maxConcurrency,
      toleratedFailurePercentage: settings.tolerated,
    });
    if (!wait) {
      io.stdout.write(
        json
          ? jsonLine({ fleetRun, executionArn, trigger, selected: selected.length })
          : `Started ${fleetRun}: ${selected.length} clients (${trigger}, at most ${settings.maxConcurrency} at once): ${forTerminal(executionArn)}\n`,
      );
      return ExitCode.ok;
    }
    if (!json) {
      io.stdout.write(
        `Rotating ${selected.length} clients (${trigger}, at most ${settings.maxConcurrency} at once, ` +
          `${settings.tolerated}% may fail): ${fleetRun}\n`,
      );
    }
    const result = await followFleetRun(aws, io, runs, {
      fleetRun,
      executionArn,
      table,
      trigger,
      startedAt,
      live: !json,
    });
    io.stdout.write(json ? jsonLine(result) : fleetResultText(result));
    const allRotated = result.status === 'SUCCEEDED' && result.progress.rotated === result.progress.selected;
    return allRotated ? ExitCode.ok : ExitCode.failed;
  });
}

/**
 * Fleet runs to start (`rotate`/`emergency`): the fleet bucket and workflow, each an error naming
 * its flag when not known. `status --fleet` only reads runs: {@link fleetRunReader}.
 */
export function fleetRuns(aws: AwsClients, flags: ResourceFlags, io: CliIo): FleetRuns {
  return new FleetRuns({
    s3: aws.s3,
    sfn: aws.sfn,
    bucket: resolveResource('fleetBucket', flags, io),
    stateMachineArn: resolveResource('fleetStateMachineArn', flags, io),
  });
}

/**
 * Fleet runs to read, or undefined when the fleet workflow is not known (a stack from before fleet
 * rotation). No bucket: each run's input says how many clients it selected.
 */
export function fleetRunReader(aws: AwsClients, flags: ResourceFlags, io: CliIo): FleetRunReader | undefined {
  const stateMachineArn = optionalResource('fleetStateMachineArn', flags, io);
  return stateMachineArn === undefined ? undefined : new FleetRunReader({ sfn: aws.sfn, stateMachineArn });
}

/** A run's progress now: its execution and its rotation records (the byFleetRun index). */
export async function fleetRunProgress(
  aws: AwsClients,
  table: string,
  run: FleetRunDescription,
): Promise<FleetProgress> {
  const records = await aws.ledger(table).listFleetRunRotations(run.fleetRun);
  return fleetProgress(run.input?.selection.count ?? records.length, records);
}

/** Polls the run until its execution ends, with a progress line on a terminal (stderr). */
async function followFleetRun(
  aws: AwsClients,
  io: CliIo,
  runs: FleetRunReader,
  run: {
    readonly fleetRun: string;
    readonly executionArn: string;
    readonly table: string;
    readonly trigger: 'manual' | 'leak';
    readonly startedAt: number;
    readonly live: boolean;
  },
): Promise<FleetRunResult> {
  const live = run.live && io.stderr.isTTY === true;
  let shown = '';
  for (;;) {
    const described = await runs.describe(run.executionArn);
    const progress = await fleetRunProgress(aws, run.table, described);
    const ended = described.status !== 'RUNNING';
    const line = progressText(progress);
    if (run.live && line !== shown) {
      io.stderr.write(live ? `\r\x1b[2K${line}` : `${line}\n`);
      shown = line;
    }
    if (ended) {
      if (live) io.stderr.write('\n');
      return {
        fleetRun: run.fleetRun,
        executionArn: run.executionArn,
        trigger: run.trigger,
        status: described.status,
        progress,
        ...(described.error === undefined ? {} : { error: described.error }),
        durationMs: (described.stopDate?.getTime() ?? Date.now()) - described.startDate.getTime(),
      };
    }
    if (io.signal.aborted)
      throw usageError(`stopped following ${run.fleetRun}; it goes on (rotator status --fleet)`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** One line of progress: the counts that move. */
export function progressText(progress: FleetProgress): string {
  const done = progress.rotated + progress.cancelled + progress.failed;
  return (
    `${done}/${progress.selected} done: ${progress.rotated} rotated, ${progress.cancelled} cancelled, ` +
    `${progress.failed} failed; ${progress.inFlight} in flight, ${progress.waitingForConsumers} waiting for consumers, ` +
    `${progress.notStarted} not started`
  );
}

function fleetResultText(result: FleetRunResult): string {
  const verdict =
    result.status === 'SUCCEEDED'
      ? result.progress.rotated === result.progress.selected
        ? 'every client rotated'
        : 'ended within its tolerated failures'
      : result.error === 'States.ExceedToleratedFailureThreshold'
        ? 'stopped: more clients failed than it tolerates'
        : `ended ${result.status}${result.error === undefined ? '' : ` (${forTerminal(result.error, 100)})`}`;
  return `${result.fleetRun} ${verdict} in ${seconds(result.durationMs)}: ${progressText(result.progress)}\n`;
}
