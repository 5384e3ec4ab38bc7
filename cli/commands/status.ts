import type { Command } from 'commander';
import type { AwsClients } from '#adapters/aws/awsClients.js';
import { AwsServiceError } from '#adapters/aws/errors.js';
import { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { DRIFT_KINDS, type DriftKind } from '#core/fleetDrift.js';
import type { FleetProgress } from '#core/fleetRotation.js';
import type { FleetSweepRecord } from '#core/fleetSweep.js';
import type { ClientRef, RotationRecord } from '#core/ports.js';
import { mapBounded } from '#core/secretAge.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { activeRotation, executionStatus } from '../executions.js';
import { fleetRunProgress, fleetRunReader, progressText } from '../fleetRotation.js';
import type { CliIo } from '../io.js';
import { EXIT_CODES_HELP } from '../output.js';
import {
  addResourceOptions,
  masked,
  parseClientId,
  type ResourceFlags,
  resolveResource,
  resolveSecretPrefix,
  usageError,
  withAws,
} from '../resources.js';
import { type ClientSchedule, clientSchedules, type ScheduleView, scheduleView } from '../schedules.js';
import { forTerminal, jsonLine } from '../terminalText.js';

interface StatusFlags extends ResourceFlags {
  readonly json?: boolean;
  readonly fleet?: boolean;
}

/** One client's status; secrets appear only as `…abcd`. */
export interface ClientStatus {
  readonly clientId: string;
  readonly secretId: string;
  readonly state: 'idle' | 'rotating' | 'stuck';
  /** Where the rotation is, when rotating: `starting`, `publishing`, `awaiting consumers`. */
  readonly step?: string;
  readonly rotationId?: string;
  readonly trigger?: string;
  readonly current: {
    readonly versionId: string | null;
    readonly secret: string;
    readonly createdAt: string | null;
    readonly ageSeconds: number | null;
  };
  readonly pending: { readonly versionId: string; readonly secret: string } | null;
  readonly lastRotation: {
    readonly rotationId: string;
    readonly trigger: string;
    readonly status: string;
    readonly startedAt: string | undefined;
  } | null;
  /** Its rotation schedule (EventBridge Scheduler), or null when it rotates only on leaks and by hand. */
  readonly schedule: ScheduleView | null;
  /** Whether the current secret is older than its schedule lets it get. */
  readonly overdue: boolean;
}

/** Registers `rotator status`. */
export function registerStatusCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('status')
    .summary('show the managed clients: idle or rotating, versions, last four, age')
    .description(
      'Show each managed client (the secrets under the prefix), or only [clientId]: idle or rotating (and ' +
        'at which step), the AWSCURRENT and AWSPENDING version ids, the last four characters of each ' +
        'secret (never more), the age of the current secret against its schedule (OVERDUE past it), and the ' +
        'next scheduled rotation (from EventBridge Scheduler; rate: when the current secret is due, cron: ' +
        'its next occurrence). With --fleet, the fleet instead, from the ledger alone (see --fleet).',
    )
    .argument('[clientId]', 'only this client')
    .option(
      '--fleet',
      'the fleet instead (the ledger only): how many clients the registry manages, the rotations in ' +
        "flight (each registered client's lock and, when held, its rotation record: one GetItem each), and " +
        'the last hourly sweep (overdue secrets, managed clients mid-rotation at Stytch with no rotation ' +
        'holding them, managed clients missing at Stytch, unmanaged Stytch clients; up to 20 ids each), and ' +
        'the latest fleet runs with their progress (rotated, cancelled, failed, in flight, waiting for consumers)',
    )
    .option(
      '--json',
      'print {clients:[{clientId, secretId, state, step?, rotationId?, trigger?, current:{versionId, ' +
        'secret:"…abcd", createdAt, ageSeconds}, pending:{versionId, secret}|null, lastRotation, ' +
        'schedule:{expression, timeZone, nextRotation, maxAgeSeconds}|null, overdue}]}; with --fleet ' +
        '{managedClients, inFlight:{count, steps:{starting, publishing, awaitingConsumers}, ' +
        'clients:[{clientId, rotationId, step}]}, lastSweep:{sweptAt, managedClients, unmeasured, overdue, ' +
        'midRotationAtStytch, missingAtStytch, unmanaged, samples:{overdue, midRotationAtStytch, ' +
        'missingAtStytch, unmanaged}, stytchProblem?}|null, fleetRuns:[{fleetRun, status, trigger, startedAt, ' +
        'stoppedAt, error, progress:{selected, rotated, cancelled, failed, inFlight, waitingForConsumers, ' +
        'notStarted}}]|null} (a Stytch count is null when that sweep could not read Stytch; lastSweep is null ' +
        'before the first sweep; fleetRuns, the latest 5 fleet runs, is null when the fleet workflow is not known)',
    );
  addResourceOptions(command, ['table', 'secretPrefix', 'fleetStateMachineArn']);
  command.addHelpText('after', EXIT_CODES_HELP);
  command.action(async (clientId: string | undefined, flags: StatusFlags) => {
    if (flags.fleet === true) {
      if (clientId !== undefined) throw usageError('--fleet shows the whole fleet: give no clientId');
      await fleetStatus(context.io, flags);
      return;
    }
    await status(context.io, clientId === undefined ? undefined : parseClientId(clientId), flags);
  });
}

/** A rotation in flight, as `status --fleet` lists it. */
export interface InFlightRotation {
  readonly clientId: string;
  /** null while StartRotation has taken the lock and not yet written the record. */
  readonly rotationId: string | null;
  readonly step: 'starting' | 'publishing' | 'awaiting consumers';
}

/** What `status --fleet --json` prints. */
export interface FleetStatus {
  /** Registered clients now. */
  readonly managedClients: number;
  readonly inFlight: {
    readonly count: number;
    readonly steps: {
      readonly starting: number;
      readonly publishing: number;
      readonly awaitingConsumers: number;
    };
    /** Up to {@link MAX_LISTED_IN_FLIGHT}, by client id. */
    readonly clients: readonly InFlightRotation[];
  };
  /** The last hourly sweep's record, or null before the first one. */
  readonly lastSweep: FleetSweepRecord | null;
  /**
   * The latest fleet runs (`rotate --all | --selector`), newest first, each with its progress from
   * its rotation records; null when the fleet workflow is not known (no stack, no
   * --fleet-state-machine-arn).
   */
  readonly fleetRuns: readonly FleetRunStatus[] | null;
}

/** One fleet run in `status --fleet`. */
export interface FleetRunStatus {
  readonly fleetRun: string;
  readonly status: string;
  readonly trigger: string | null;
  readonly startedAt: string;
  readonly stoppedAt: string | null;
  readonly error: string | null;
  readonly progress: FleetProgress;
}

/** Fleet runs `status --fleet` shows. */
const LATEST_FLEET_RUNS = 5;

/** Locks read at once: an operator's command over a whole fleet, a few GetItems in flight. */
const LOCK_READS_AT_ONCE = 16;
/** Rotations in flight listed by id (the count is whole). */
const MAX_LISTED_IN_FLIGHT = 20;

/**
 * `status --fleet`: the registry's count (one Query), the rotations in flight (each registered
 * client's lock, and the rotation record of each held one, as `status` decides a client is
 * rotating), and the last sweep's item (one GetItem). The ledger only: no Stytch, no secret.
 */
async function fleetStatus(io: CliIo, flags: StatusFlags): Promise<void> {
  const table = resolveResource('table', flags, io);
  await withAws(io, async (aws) => {
    const ledger = aws.ledger(table);
    // The fleet past a registry item that cannot be read, which is named on stderr.
    const [registrations, lastSweep] = await Promise.all([
      ledger.listRegistrations({
        onUnreadable: (_key, error) =>
          io.stderr.write(`rotator: skipped an unreadable registry item: ${forTerminal(error.message)}\n`),
      }),
      ledger.getFleetSweep(),
    ]);
    const fleetRunsShown = await latestFleetRuns(aws, io, flags, table);
    const ids = registrations.map((registration) => registration.clientId).sort();
    const active = await mapBounded(ids, LOCK_READS_AT_ONCE, async (clientId) => {
      const rotation = await activeRotation(aws, clientId, table);
      return rotation === null ? null : inFlightRotation(clientId, rotation);
    });
    const inFlight = active.filter((rotation): rotation is InFlightRotation => rotation !== null);
    const count = (step: InFlightRotation['step']) => inFlight.filter((r) => r.step === step).length;
    const fleet: FleetStatus = {
      managedClients: registrations.length,
      inFlight: {
        count: inFlight.length,
        steps: {
          starting: count('starting'),
          publishing: count('publishing'),
          awaitingConsumers: count('awaiting consumers'),
        },
        clients: inFlight.slice(0, MAX_LISTED_IN_FLIGHT),
      },
      lastSweep,
      fleetRuns: fleetRunsShown,
    };
    io.stdout.write(flags.json === true ? jsonLine(fleet) : fleetText(fleet));
  });
}

/** The latest fleet runs with their progress, or null when the fleet workflow is not known. */
async function latestFleetRuns(
  aws: AwsClients,
  io: CliIo,
  flags: StatusFlags,
  table: string,
): Promise<readonly FleetRunStatus[] | null> {
  const runs = fleetRunReader(aws, flags, io);
  if (runs === undefined) return null;
  const latest = await runs.latest(LATEST_FLEET_RUNS);
  return Promise.all(
    latest.map(async (run) => ({
      fleetRun: run.fleetRun,
      status: run.status,
      trigger: run.input?.trigger ?? null,
      startedAt: run.startDate.toISOString(),
      stoppedAt: run.stopDate?.toISOString() ?? null,
      error: run.error ?? null,
      progress: await fleetRunProgress(aws, table, run),
    })),
  );
}

function inFlightRotation(clientId: string, active: RotationRecord | 'starting'): InFlightRotation {
  const described = describeActive(active);
  return {
    clientId,
    rotationId: described.rotationId ?? null,
    step: (described.step ?? 'starting') as InFlightRotation['step'],
  };
}

const DRIFT_LABELS: Readonly<Record<DriftKind, string>> = {
  overdue: 'overdue secrets',
  midRotationAtStytch: 'mid-rotation at Stytch, no rotation holding it',
  missingAtStytch: 'missing at Stytch',
  unmanaged: 'unmanaged at Stytch (never touched)',
};

/** The fleet view for a terminal; every ledger string escaped. */
function fleetText(fleet: FleetStatus): string {
  const { inFlight, lastSweep } = fleet;
  const lines = [
    `Managed clients: ${fleet.managedClients}`,
    `In flight: ${inFlight.count} (starting ${inFlight.steps.starting}, publishing ${inFlight.steps.publishing}, ` +
      `awaiting consumers ${inFlight.steps.awaitingConsumers})`,
    ...inFlight.clients.map(
      (r) =>
        `  ${forTerminal(r.clientId, 140)}  ${r.step}${r.rotationId === null ? '' : `  ${forTerminal(r.rotationId, 100)}`}`,
    ),
  ];
  if (inFlight.count > inFlight.clients.length)
    lines.push(`  … and ${inFlight.count - inFlight.clients.length} more`);
  if (fleet.fleetRuns !== null) {
    lines.push(fleet.fleetRuns.length === 0 ? 'Fleet runs: none yet' : 'Fleet runs (newest first):');
    for (const run of fleet.fleetRuns) {
      lines.push(
        `  ${forTerminal(run.fleetRun, 80)}  ${run.status}${run.trigger === null ? '' : ` (${run.trigger})`}` +
          `${run.error === null ? '' : `  ${forTerminal(run.error, 80)}`}  started ${forTerminal(run.startedAt, 40)}`,
        `    ${progressText(run.progress)}`,
      );
    }
  }
  if (lastSweep === null) {
    lines.push('Last sweep: none yet: the hourly sweep (the secret-age publisher) has not run yet');
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    `Last sweep: ${forTerminal(lastSweep.sweptAt, 40)} (${lastSweep.managedClients} managed clients, ` +
      `${lastSweep.unmeasured} secret ages not measured)`,
  );
  if (lastSweep.stytchProblem !== undefined) {
    lines.push(`  Stytch could not be read in that sweep: ${forTerminal(lastSweep.stytchProblem, 200)}`);
  }
  for (const kind of DRIFT_KINDS) {
    const value = lastSweep[kind];
    lines.push(`  ${DRIFT_LABELS[kind]}: ${value === null ? 'unknown' : value}`);
    for (const id of lastSweep.samples[kind]) lines.push(`    ${forTerminal(id, 140)}`);
    if (value !== null && value > lastSweep.samples[kind].length) {
      lines.push(`    … and ${value - lastSweep.samples[kind].length} more`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function status(io: CliIo, clientId: string | undefined, flags: StatusFlags): Promise<void> {
  const table = resolveResource('table', flags, io);
  const prefix = resolveSecretPrefix(flags, io);
  await withAws(io, async (aws) => {
    const store = new SecretsManagerStore({ client: aws.secretsManager, prefix });
    const ids = clientId === undefined ? await store.clientIds() : [clientId];
    // The schedules are a view, not the point: without access to Scheduler, status still shows the rest.
    const schedules = await clientSchedules(aws).catch((error: unknown) => {
      io.stderr.write(
        `rotator: schedules not shown: Scheduler ListSchedules failed (${forTerminal(errorName(error), 100)})\n`,
      );
      return new Map<string, ClientSchedule>();
    });
    const ledger = aws.ledger(table);
    const clients: ClientStatus[] = [];
    for (const id of ids) {
      // The kind does not matter to the store's reads; m2m is as good as connected_app here.
      const ref: ClientRef = { clientId: id, kind: 'm2m' };
      const secretId = store.secretIdOf(ref);
      const versions = await store.versions(ref).catch((error: unknown) => {
        if (clientId !== undefined && isNotFound(error)) {
          throw new CliError(`${id} is not managed: there is no secret ${secretId}`, {
            code: 'unknown_client',
            source: 'user',
          });
        }
        throw error;
      });
      const current = await store.read(ref, 'AWSCURRENT');
      const pending = versions.pendingVersionId === null ? null : await store.read(ref, 'AWSPENDING');
      const createdAt =
        versions.currentVersionId === null
          ? undefined
          : await store.createdAt(ref, versions.currentVersionId);
      const active = await activeRotation(aws, id, table);
      // A lock whose execution no longer runs is not a rotation in progress: say what it is.
      const ended =
        active === null || active === 'starting' ? 'RUNNING' : await executionStatus(aws, active.executionId);
      const [last] = await ledger.listRotations(id, 1);
      const schedule = schedules.get(id);
      const view = schedule === undefined ? null : scheduleView(schedule, createdAt, new Date());
      const ageSeconds =
        createdAt === undefined ? null : Math.floor((Date.now() - createdAt.getTime()) / 1000);
      clients.push({
        clientId: id,
        secretId,
        state: active === null ? 'idle' : ended === 'RUNNING' ? 'rotating' : 'stuck',
        ...(active === null ? {} : describeActive(active)),
        ...(active === null || active === 'starting' || ended === 'RUNNING'
          ? {}
          : { step: `execution ${ended ?? 'gone'}: run rotator repair ${id} --apply` }),
        current: {
          versionId: versions.currentVersionId,
          secret: masked(current?.clientSecret.lastFour),
          createdAt: createdAt?.toISOString() ?? null,
          ageSeconds,
        },
        pending:
          versions.pendingVersionId === null
            ? null
            : { versionId: versions.pendingVersionId, secret: masked(pending?.clientSecret.lastFour) },
        lastRotation:
          last === undefined
            ? null
            : {
                rotationId: last.rotationId,
                trigger: last.trigger,
                status: last.status,
                startedAt: last.steps.started,
              },
        schedule: view,
        overdue: view?.maxAgeSeconds != null && ageSeconds !== null && ageSeconds > view.maxAgeSeconds,
      });
    }
    io.stdout.write(flags.json === true ? jsonLine({ clients }) : table_(clients));
  });
}

function describeActive(active: RotationRecord | 'starting'): Partial<ClientStatus> {
  if (active === 'starting') return { step: 'starting' };
  // The pending secret stored and no wait yet: it is being announced (AwaitConsumers marks the
  // rotation pending in the write that keeps its token; an older record was marked before).
  const step =
    active.taskToken !== undefined
      ? 'awaiting consumers'
      : active.status === 'pending' || active.steps.stored !== undefined
        ? 'publishing'
        : 'starting';
  return { step, rotationId: active.rotationId, trigger: active.trigger };
}

/** The AWS error's name (the adapter's wrapped cause), as the SDK gave it. */
function errorName(error: unknown): string {
  const raw = error instanceof AwsServiceError ? error.cause : error;
  return raw instanceof Error ? raw.name : 'error';
}

function isNotFound(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.name === 'ResourceNotFoundException' || /not ?found/i.test(e.message)) return true;
  }
  return false;
}

function table_(clients: readonly ClientStatus[]): string {
  if (clients.length === 0) return 'No managed clients (no secrets under the prefix)\n';
  const rows = [
    ['CLIENT', 'STATE', 'CURRENT', 'AGE / POLICY', 'NEXT ROTATION', 'PENDING', 'LAST ROTATION'],
    ...clients.map((c) => [
      c.clientId,
      c.state === 'idle' ? 'idle' : `rotating: ${c.step ?? '?'}`,
      `${c.current.secret} ${c.current.versionId ?? '-'}`,
      `${age(c.current.ageSeconds)} / ${c.schedule?.maxAgeSeconds == null ? '-' : age(Math.round(c.schedule.maxAgeSeconds))}${c.overdue ? ' OVERDUE' : ''}`,
      c.schedule === null ? 'not scheduled' : `${c.schedule.nextRotation ?? '?'} (${c.schedule.expression})`,
      c.pending === null ? '-' : `${c.pending.secret} ${c.pending.versionId}`,
      c.lastRotation === null
        ? '-'
        : `${c.lastRotation.trigger} ${c.lastRotation.status} ${c.lastRotation.startedAt ?? ''}`,
    ]),
  ];
  return formatTable(rows);
}

/**
 * Left-aligned columns, two spaces apart. The cells hold ledger and Scheduler text (a trigger, a
 * step, an expression), so each is escaped for the terminal (and bounded) before it is measured.
 */
export function formatTable(rawRows: readonly (readonly string[])[]): string {
  const rows = rawRows.map((row) => row.map((cell) => forTerminal(cell, 120)));
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows
    .map(
      (row) =>
        `${row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

function age(secondsOld: number | null): string {
  if (secondsOld === null) return '-';
  const d = Math.floor(secondsOld / 86_400);
  const h = Math.floor((secondsOld % 86_400) / 3600);
  const m = Math.floor((secondsOld % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return m > 0 ? `${m}m` : `${secondsOld}s`;
}
