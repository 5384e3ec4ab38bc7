import type { Command } from 'commander';
import type { AwsClients } from '#adapters/aws/awsClients.js';
import type { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { EventBridgePublisher } from '#adapters/aws/EventBridgePublisher.js';
import { SecretsManagerFingerprints } from '#adapters/aws/SecretsManagerFingerprints.js';
import { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { readStytchCredentials } from '#adapters/aws/SecretValueReader.js';
import { SfnExecutionStatus } from '#adapters/aws/SfnExecutionStatus.js';
import { StytchApiError, StytchClient } from '#adapters/stytch/index.js';
import { StytchRotationAdapter } from '#adapters/stytch/StytchRotationAdapter.js';
import type { StepDeps, StepLogger } from '#core/deps.js';
import { EVENT_SOURCES } from '#core/events.js';
import { fingerprintedSecrets } from '#core/fingerprintedSecrets.js';
import { type ClientKind, ClientKindSchema } from '#core/model.js';
import type { ClientRef, RotationLock, RotationRecord } from '#core/ports.js';
import {
  type RepairAction,
  type RepairContext,
  type RepairPlan,
  type RepairVerdict,
  reconcileClient,
} from '#core/reconcile.js';
import { NeedsOperatorError, RepairIncompleteError } from '#core/rotationErrors.js';
import { endStaleRotation, type LockHolder, leakLeftBy, lockHolder } from '#core/staleRotation.js';
import { atStytch } from '../clientEnrolment.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { assertManaged } from '../managed.js';
import {
  addResourceOptions,
  optionalResource,
  parseClientId,
  type ResourceFlags,
  resolveResource,
  resolveSecretPrefix,
  usageError,
  withAws,
} from '../resources.js';
import { forTerminal, jsonLine } from '../terminalText.js';

interface RepairFlags extends ResourceFlags {
  readonly apply?: boolean;
  readonly kind?: string;
  readonly json?: boolean;
}

/** The client's lock as `repair` reports it. */
interface LockView {
  readonly rotationId: string;
  /** The execution holding it; null for a lock that names none (it then only expires). */
  readonly executionArn: string | null;
  /** Step Functions' status of that execution; `gone` when it no longer knows it, `unknown` without one. */
  readonly executionStatus: string;
  readonly expiresAt: string;
  /** True while its holder may still be working: repair then refuses to touch the client. */
  readonly running: boolean;
  /** True once `--apply` closed the holder's rotation and released the lock. */
  readonly released: boolean;
}

/** What `repair --json` prints: one document, last four characters and version ids only. */
interface RepairReport {
  readonly clientId: string;
  readonly verdict: RepairVerdict;
  readonly finding: string;
  readonly actions: readonly RepairAction[];
  readonly applied: readonly RepairAction[];
  readonly lock: LockView | null;
}

const VERDICTS_HELP =
  '\nVerdicts (the one reconciliation rule, lambdas/core/reconcile.ts, that the workflow uses too):\n' +
  '  consistent      Stytch and Secrets Manager agree (or a running rotation owns the difference):\n' +
  '                  nothing to do.\n' +
  '  repairable      the listed moves make the client whole, in order: drop a stale AWSPENDING,\n' +
  '                  complete at Stytch (its next secret already is AWSCURRENT), cancel at Stytch (its\n' +
  '                  next secret is held by nothing readers use), or promote AWSPENDING (Stytch\n' +
  '                  already completed to it).\n' +
  '  needs_operator  AWSCURRENT is not a secret Stytch accepts and no stored secret is: nothing is\n' +
  '                  done automatically. A rotation issues a fresh secret (rotator emergency <id>),\n' +
  '                  once Stytch has no rotation pending for the client.\n' +
  'The rule never cancels at Stytch a secret that is AWSCURRENT (that would revoke what every\n' +
  'consumer reads), and never drops the pending secret of a rotation whose execution is running.\n' +
  '\nThe lock is checked first: held by a rotation whose execution is RUNNING, repair touches nothing\n' +
  '(cancel it with rotator cancel, or wait). Held by one whose execution ended (stopped, failed,\n' +
  'timed out), --apply also closes that rotation (failed, execution_ended; `Rotation Failed` on the\n' +
  'event bus) and releases the lock, so the client can rotate again.\n' +
  '\nExit codes: 0 the client is consistent (dry run), or --apply made it so; 1 something would be\n' +
  'done (dry run), an operator is needed, or a running rotation holds the lock; 2 usage or setup\n' +
  'error (one line on stderr).\n' +
  "\n--apply needs, besides the dry run's resources, the event bus and the fingerprint key (the\n" +
  "ledger's fingerprint index follows every label it moves, as the workflow's does).\n" +
  '\nExamples:\n' +
  '  $ rotator repair m2m-client-test-billing-worker\n' +
  '  $ rotator repair m2m-client-test-billing-worker --apply --json';

/** Registers `rotator repair`. */
export function registerRepairCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('repair')
    .summary("check a client's Stytch and Secrets Manager state; --apply makes it consistent")
    .description(
      "Compare <clientId>'s secrets at Stytch (current and next, last four) with its Secrets Manager " +
        'labels (AWSCURRENT, AWSPENDING, last four) and its lock in the ledger, and say what the ' +
        'reconciliation rule finds and what it would do. A dry run by default: nothing is changed. ' +
        'With --apply the moves are made and the client checked again. Never prints a secret: last ' +
        'four characters and version ids only.',
    )
    .argument('<clientId>', 'the managed Stytch client id')
    .option('--apply', 'make the moves (default: a dry run that changes nothing)')
    .option(
      '--kind <kind>',
      'm2m or connected_app (default: what the ledger recorded for the client, else connected_app for ' +
        'an id starting connected-app-, else m2m)',
    )
    .option(
      '--json',
      'print one JSON document: {clientId, verdict, finding, actions:[{kind, versionId?}], applied:[{kind, ' +
        'versionId?}], lock:{rotationId, executionArn, executionStatus, expiresAt, running, released}|null}',
    );
  addResourceOptions(command, [
    'table',
    'secretPrefix',
    'stytchCredentialsSecret',
    'stytchBaseUrl',
    'eventBus',
    'fingerprintKeySecret',
  ]);
  command.addHelpText('after', VERDICTS_HELP);
  command.action(async (clientId: string, flags: RepairFlags) => {
    context.setExitCode(await repair(context.io, clientId, flags));
  });
}

async function repair(io: CliIo, rawClientId: string, flags: RepairFlags): Promise<number> {
  const clientId = parseClientId(rawClientId);
  const kind = parseKind(flags.kind);
  const apply = flags.apply === true;
  const json = flags.json === true;
  // Every resource is resolved before anything is read, so a missing one changes nothing.
  const table = resolveResource('table', flags, io);
  const prefix = resolveSecretPrefix(flags, io);
  const credentialsSecretId = resolveResource('stytchCredentialsSecret', flags, io);
  const stytchBaseUrl = optionalResource('stytchBaseUrl', flags, io);
  const applyResources = apply
    ? {
        eventBusName: resolveResource('eventBus', flags, io),
        keySecretId: resolveResource('fingerprintKeySecret', flags, io),
      }
    : undefined;

  return withAws(io, async (aws) => {
    await assertManaged(aws, { clientId, prefix });
    const ledger = aws.ledger(table);
    const executions = new SfnExecutionStatus({ client: aws.sfn });
    const lock = await ledger.getLock(clientId);
    const holder = lock === null ? null : await lockHolder({ ledger, executions }, lock);
    const running = lock !== null && holder !== null && holdsOn(lock, holder);
    const client: ClientRef = {
      clientId,
      kind: kind ?? (await recordedKind(ledger, clientId, holder?.record ?? null)),
    };
    const credentials = await readStytchCredentials(aws.secretsManager, credentialsSecretId);
    const stytch = new StytchClient({
      projectId: credentials.projectId,
      secret: credentials.secret,
      ...(stytchBaseUrl === undefined ? {} : { baseUrl: stytchBaseUrl }),
    });
    try {
      return await atStytchClient(stytch, client, async () => {
        const store = new SecretsManagerStore({ client: aws.secretsManager, prefix });
        const port = new StytchRotationAdapter({ stytch });
        // The running rotation's pending secret is its own, not a stale one (version id = rotation id).
        const context: RepairContext =
          running && lock !== null
            ? { runningPendingVersionId: holder?.record?.pendingVersionId ?? lock.rotationId }
            : {};
        const { plan } = await reconcileClient({ secrets: store, stytch: port, logger: QUIET }, client, {
          ...context,
          dryRun: true,
        });
        const lockView = lock === null || holder === null ? null : viewOf(lock, holder, running);

        if (running && lockView !== null) {
          write(io, { json, apply: false }, report(clientId, plan, [], lockView));
          const execution = lockView.executionArn ?? 'none recorded';
          io.stderr.write(
            `rotator: rotation ${forTerminal(lockView.rotationId, 100)} is running (execution ${forTerminal(execution)}, ${forTerminal(lockView.executionStatus, 40)}); cancel it or wait\n`,
          );
          return ExitCode.failed;
        }
        if (!apply || applyResources === undefined) {
          write(io, { json, apply: false }, report(clientId, plan, [], lockView));
          return plan.verdict === 'consistent' && lockView === null ? ExitCode.ok : ExitCode.failed;
        }
        if (plan.verdict === 'needs_operator') {
          write(io, { json, apply: true }, report(clientId, plan, [], lockView));
          io.stderr.write(
            `rotator: ${clientId} needs an operator; nothing was changed (see rotator repair --help)\n`,
          );
          return ExitCode.failed;
        }

        const deps = repairDeps(aws, { ledger, executions, store, stytch: port, ...applyResources });
        try {
          if (lock !== null && holder !== null && lockView !== null) {
            const end = await endStaleRotation(deps, client, { rotationId: lock.rotationId, ...holder });
            await ledger.releaseLock(clientId, lock.rotationId);
            // A leak the dead rotation left unanswered is sent again, as the execution reconciler does.
            const leak = leakLeftBy(end, new Date().toISOString());
            if (leak !== null) await deps.events.publish(leak);
            write(
              io,
              { json, apply: true },
              report(clientId, end.reconciled.plan, end.reconciled.applied, { ...lockView, released: true }),
            );
            return ExitCode.ok;
          }
          const result = await reconcileClient(deps, client);
          write(io, { json, apply: true }, report(clientId, result.plan, result.applied, null));
          return result.plan.verdict === 'needs_operator' ? ExitCode.failed : ExitCode.ok;
        } catch (error) {
          // Someone moved meanwhile (the rule re-observes after its moves), or the client turned
          // out to need an operator: said in one line, and the next run looks again.
          if (error instanceof RepairIncompleteError || error instanceof NeedsOperatorError) {
            io.stderr.write(`rotator: ${forTerminal(error.message, 1000)}; run rotator repair again\n`);
            return ExitCode.failed;
          }
          throw error;
        }
      });
    } finally {
      await stytch.close();
    }
  });
}

function parseKind(raw: string | undefined): ClientKind | undefined {
  if (raw === undefined) return undefined;
  const parsed = ClientKindSchema.safeParse(raw);
  if (!parsed.success) throw usageError(`--kind "${raw.slice(0, 40)}" must be m2m or connected_app`);
  return parsed.data;
}

/**
 * Whether the lock's holder may still be working. A lock naming no execution is only known to have
 * ended once it expired (the workflow itself takes such a lock over then).
 */
function holdsOn(lock: RotationLock, holder: LockHolder): boolean {
  if (holder.status === 'unknown') return Date.parse(lock.expiresAt) > Date.now();
  return holder.alive;
}

/**
 * The client's kind as the ledger recorded it (the lock holder's record, the registration, the
 * last rotation); otherwise Stytch's id format says it (`connected-app-…`), else m2m.
 */
async function recordedKind(
  ledger: DynamoLedger,
  clientId: string,
  holderRecord: RotationRecord | null,
): Promise<ClientKind> {
  if (holderRecord !== null) return holderRecord.clientKind;
  const registration = await ledger.getRegistration(clientId);
  if (registration !== null) return registration.clientKind;
  const [last] = await ledger.listRotations(clientId, 1);
  if (last !== undefined) return last.clientKind;
  return clientId.startsWith('connected-app-') ? 'connected_app' : 'm2m';
}

function viewOf(lock: RotationLock, holder: LockHolder, running: boolean): LockView {
  return {
    rotationId: lock.rotationId,
    executionArn: lock.executionId ?? holder.record?.executionId ?? null,
    executionStatus: holder.status,
    expiresAt: lock.expiresAt,
    running,
    released: false,
  };
}

/** The CLI prints what it did itself; the core's log lines would only repeat it. */
const QUIET: StepLogger = { info: () => undefined, warn: () => undefined };

/**
 * The ports the rule and `endStaleRotation` use, over the CLI's clients. The secret store keeps the
 * ledger's fingerprint index in step, as the workflow's does. Repair starts, answers and measures
 * no rotation: those ports fail if ever called.
 */
function repairDeps(
  aws: AwsClients,
  parts: {
    readonly ledger: DynamoLedger;
    readonly executions: SfnExecutionStatus;
    readonly store: SecretsManagerStore;
    readonly stytch: StytchRotationAdapter;
    readonly eventBusName: string;
    readonly keySecretId: string;
  },
): StepDeps {
  const clock = { now: () => new Date() };
  const fingerprints = new SecretsManagerFingerprints({
    client: aws.secretsManager,
    keySecretId: parts.keySecretId,
  });
  const unused = (port: string) => (): never => {
    throw new CliError(`rotator repair does not use ${port}`, { code: 'internal', source: 'internal' });
  };
  return {
    stytch: parts.stytch,
    secrets: fingerprintedSecrets(parts.store, { fingerprints, index: parts.ledger, clock, logger: QUIET }),
    ledger: parts.ledger,
    // As the operator (the grant allows it this source only), never as the rotator's functions.
    events: new EventBridgePublisher({
      client: aws.eventBridge,
      eventBusName: parts.eventBusName,
      source: EVENT_SOURCES.operator,
    }),
    executions: parts.executions,
    clock,
    logger: QUIET,
    fingerprints,
    callbacks: { succeed: unused('task callbacks'), fail: unused('task callbacks') },
    clients: { find: unused('the client directory'), ids: unused('the client directory') },
    workflow: { start: unused('the workflow starter') },
    metrics: { rotationEnded: () => undefined, firstConsumerReport: () => undefined },
  };
}

/**
 * Runs `body`'s Stytch calls; a Stytch that cannot be reached is the user's setup (exit 2), named
 * as Stytch with its URL (the AWS wording of `withAws` would blame the wrong endpoint), and so is a
 * client Stytch does not know (a wrong id, or a Connected App taken for an M2M client).
 */
async function atStytchClient<T>(
  stytch: StytchClient,
  client: ClientRef,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await atStytch(stytch, body);
  } catch (error) {
    if (error instanceof StytchApiError && error.statusCode === 404) {
      const what = client.kind === 'm2m' ? 'M2M client' : 'Connected App';
      const other = client.kind === 'm2m' ? 'connected_app' : 'm2m';
      throw new CliError(
        `Stytch has no ${what} ${client.clientId} (${error.errorType}): check the client id, or pass --kind ${other}`,
        { code: 'unknown_client', cause: error },
      );
    }
    throw error;
  }
}

function report(
  clientId: string,
  plan: RepairPlan,
  applied: readonly RepairAction[],
  lock: LockView | null,
): RepairReport {
  return { clientId, verdict: plan.verdict, finding: plan.finding, actions: plan.actions, applied, lock };
}

/** Each move, as it is proposed and as it was made. */
function describe(action: RepairAction, done: boolean): string {
  switch (action.kind) {
    case 'drop_pending':
      return done
        ? `removed AWSPENDING from version ${action.versionId} (readers keep AWSCURRENT)`
        : `remove AWSPENDING from version ${action.versionId} (readers keep AWSCURRENT)`;
    case 'promote_pending':
      return done
        ? `made version ${action.versionId} AWSCURRENT (Stytch had completed to it)`
        : `make version ${action.versionId} AWSCURRENT (Stytch has completed to it)`;
    case 'complete_at_stytch':
      return done
        ? 'completed the rotation at Stytch (AWSCURRENT, its next secret, is now its only one)'
        : 'complete the rotation at Stytch (AWSCURRENT, its next secret, becomes its only one)';
    case 'cancel_at_stytch':
      return done
        ? 'cancelled the rotation at Stytch (its next secret no longer works)'
        : 'cancel the rotation at Stytch (its next secret stops working)';
  }
}

function write(
  io: CliIo,
  options: { readonly json: boolean; readonly apply: boolean },
  result: RepairReport,
): void {
  if (options.json) {
    io.stdout.write(jsonLine(result));
    return;
  }
  // The finding quotes Stytch's last four and Secrets Manager's version ids: outsider text.
  const lines = [`${result.clientId}: ${result.verdict}`, `  ${forTerminal(result.finding, 1000)}`];
  const lock = result.lock;
  if (lock === null) lines.push('  lock: free');
  else {
    lines.push(
      `  lock: rotation ${forTerminal(lock.rotationId, 100)}, execution ${forTerminal(lock.executionArn ?? 'none recorded')} ` +
        `${forTerminal(lock.executionStatus, 40)} (expires ${forTerminal(lock.expiresAt, 40)})`,
    );
  }
  const closing =
    lock !== null && !lock.running
      ? `close rotation ${forTerminal(lock.rotationId, 100)} (its execution is ${forTerminal(lock.executionStatus, 40)}) and release its lock`
      : undefined;
  if (options.apply) {
    const done = result.applied.map((action) => describe(action, true));
    if (lock?.released === true) {
      done.push(`closed rotation ${forTerminal(lock.rotationId, 100)} and released its lock`);
    }
    if (done.length > 0) {
      lines.push('Done:', ...done.map((line, i) => `  ${i + 1}. ${forTerminal(line, 1000)}`));
      lines.push(`${result.clientId} is consistent now.`);
    } else if (result.verdict === 'consistent') {
      lines.push('Nothing to do.');
    } else {
      lines.push('Nothing was changed.');
    }
  } else if (lock?.running !== true) {
    const would = result.actions.map((action) => describe(action, false));
    // A client that needs an operator is left alone, and so is the dead holder's lock then.
    if (closing !== undefined && result.verdict !== 'needs_operator') would.push(closing);
    if (would.length > 0) {
      lines.push(
        'Would (dry run: nothing was changed; --apply makes these moves):',
        ...would.map((line, i) => `  ${i + 1}. ${forTerminal(line, 1000)}`),
      );
    } else if (result.verdict === 'consistent') {
      lines.push('Nothing to do.');
    } else {
      lines.push('An operator is needed: nothing is done automatically (see rotator repair --help).');
    }
  }
  io.stdout.write(`${lines.join('\n')}\n`);
}
