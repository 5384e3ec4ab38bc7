import type { Command } from 'commander';
import type { AwsClients } from '#adapters/aws/awsClients.js';
import { SfnWorkflowStarter } from '#adapters/aws/SfnWorkflowStarter.js';
import {
  DEFAULT_FLEET_CONCURRENCY,
  DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
  FLEET_MAX_CONCURRENCY,
} from '#core/fleetRotation.js';
import type { Trigger } from '#core/model.js';
import { rotationIdFor } from '#core/state.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../errors.js';
import { executionStatus, followExecution, writeResult } from '../executions.js';
import { type FleetFlags, isFleetRequest, rotateFleet, SELECTOR_HELP } from '../fleetRotation.js';
import type { CliIo } from '../io.js';
import { CLI_LEAK_SOURCE, publishLeak } from '../leakEvents.js';
import { assertManaged } from '../managed.js';
import { EXIT_CODES_HELP } from '../output.js';
import {
  addResourceOptions,
  optionalResource,
  parseClientId,
  requestedBy,
  resolveResource,
  resolveSecretPrefix,
  usageError,
  withAws,
} from '../resources.js';
import { forTerminal, jsonLine } from '../terminalText.js';

/** Raw flags of `rotate` and `emergency`. */
interface RotateFlags extends FleetFlags {
  readonly reason?: string;
  readonly wait?: boolean;
  readonly json?: boolean;
}

/** Registers `rotator rotate` (trigger manual) and `rotator emergency` (trigger leak). */
export function registerRotateCommands(program: Command, context: CommandContext): void {
  const rotate = program
    .command('rotate')
    .summary('rotate a managed client, or a fleet of them, now (trigger manual)')
    .description(
      'Start a rotation of <clientId> (trigger manual: if consumers do not all report healthy before the ' +
        'deadline, it is cancelled and nothing breaks). With --wait, follow it live: each state entered ' +
        'with the elapsed time, consumer reports as they arrive, and the outcome. With --all or --selector, ' +
        'rotate every registered client (that matches) instead, as one fleet run: a Distributed Map that ' +
        'rotates --max-concurrency clients at once and stops once more than --tolerated-failure-percentage ' +
        'of them were not rotated (default 0: at the first; docs/fleet.md).',
    )
    .argument('[clientId]', 'the managed Stytch client id (none with --all or --selector)')
    .option('--reason <text>', 'why (kept in the ledger and the events; 1-500 characters)');
  addFleetOptions(rotate, DEFAULT_TOLERATED_FAILURE_PERCENTAGE.manual);
  addFollowOptions(rotate);
  rotate.action(async (clientId: string | undefined, flags: RotateFlags) => {
    context.setExitCode(await rotateOneOrFleet(context.io, clientId, 'manual', flags));
  });

  const emergency = program
    .command('emergency')
    .summary('rotate a leaked secret, or a fleet of them, now (trigger leak, reason required)')
    .description(
      'Start an emergency rotation of <clientId> (trigger leak: when the deadline passes the rotation ' +
        'completes anyway, so the leaked secret dies even if a consumer is not ready). --reason is required. ' +
        'With --all or --selector, every registered client (that matches), as one fleet run that never stops ' +
        'for failures unless --tolerated-failure-percentage says so (default 100).',
    )
    .argument('[clientId]', 'the managed Stytch client id (none with --all or --selector)')
    .option('--reason <text>', 'why (required; kept in the ledger and the events; 1-500 characters)');
  addFleetOptions(emergency, DEFAULT_TOLERATED_FAILURE_PERCENTAGE.leak);
  addFollowOptions(emergency);
  emergency.action(async (clientId: string | undefined, flags: RotateFlags) => {
    if (flags.reason === undefined) throw usageError('emergency needs --reason <text> (what leaked, where)');
    context.setExitCode(await rotateOneOrFleet(context.io, clientId, 'leak', flags));
  });
}

function addFleetOptions(command: Command, defaultTolerance: number): void {
  command
    .option('--all', 'rotate every client the registry manages, as one fleet run')
    .option('--selector <expr>', SELECTOR_HELP)
    .option(
      '--max-concurrency <n>',
      `fleet: rotations in flight at once, 1-${FLEET_MAX_CONCURRENCY} (default ${DEFAULT_FLEET_CONCURRENCY}; the shared ` +
        'Stytch budget still paces them)',
    )
    .option(
      '--tolerated-failure-percentage <p>',
      `fleet: the share of clients that may end not rotated (cancelled, refused, failed) before the run stops, 0-100 (default ${defaultTolerance})`,
    )
    .option('--dry-run', 'fleet: print the clients that would be rotated, start nothing');
}

/** One client's rotation, or a fleet run with --all / --selector. */
async function rotateOneOrFleet(
  io: CliIo,
  clientId: string | undefined,
  trigger: Trigger,
  flags: RotateFlags,
) {
  const fleetOnly = (['maxConcurrency', 'toleratedFailurePercentage', 'dryRun'] as const).filter(
    (flag) => flags[flag] !== undefined,
  );
  if (isFleetRequest(flags)) {
    if (clientId !== undefined) throw usageError('give a clientId or --all/--selector, not both');
    return rotateFleet(io, trigger === 'leak' ? 'leak' : 'manual', flags);
  }
  if (clientId === undefined) throw usageError('give the <clientId> to rotate, or --all / --selector <expr>');
  if (fleetOnly.length > 0) {
    throw usageError(`${fleetOnly.map(flagName).join(', ')} only apply to a fleet run (--all or --selector)`);
  }
  return startRotation(io, clientId, trigger, flags);
}

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
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
  addResourceOptions(command, [
    'stateMachineArn',
    'secretPrefix',
    'table',
    'eventBus',
    'fleetStateMachineArn',
    'fleetBucket',
  ]);
  command.addHelpText(
    'after',
    `${EXIT_CODES_HELP}\nA client the deployment does not manage (no secret <prefix>/<clientId>) is refused with exit 2\n` +
      'before any execution starts.\n' +
      '(--table is optional here: with it, --wait also shows consumer reports, and emergency checks\n' +
      'for a rotation in progress: it then reports the leak on --event-bus, which has that rotation complete at\n' +
      'once, and follows it, instead of being rejected. rotate does not use --event-bus.)\n' +
      '\nExamples:\n' +
      `  $ rotator ${command.name()} m2m-client-test-billing-worker --reason "quarterly" --wait\n` +
      `  $ rotator ${command.name()} m2m-client-test-billing-worker --reason "ticket 42" --no-wait --json\n` +
      `  $ rotator ${command.name()} --selector "consumer=billing-api" --reason "CI log exposed them" --dry-run\n` +
      `  $ rotator ${command.name()} --all --reason "quarterly campaign" --max-concurrency 50 --wait`,
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
    const executionArn = await new SfnWorkflowStarter({ client: aws.sfn, stateMachineArn }).startNew(input);
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
  if ((await executionStatus(aws, running.executionId)) !== 'RUNNING') return undefined;
  await publishLeak(aws, resolveResource('eventBus', options.flags, io), {
    clientId: options.clientId,
    source: CLI_LEAK_SOURCE,
    requestedBy: requestedBy(io),
    reference: options.reason.slice(0, 2048),
    detectedAt: new Date().toISOString(),
  });
  return { executionArn: running.executionId, rotationId: running.rotationId, preempted: true };
}
