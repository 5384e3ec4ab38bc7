import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AwsClients } from '#adapters/aws/awsClients.js';
import type { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { SchedulerSchedules } from '#adapters/aws/SchedulerSchedules.js';
import { SecretsManagerFingerprints } from '#adapters/aws/SecretsManagerFingerprints.js';
import { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { readStytchCredentials } from '#adapters/aws/SecretValueReader.js';
import { StytchClient } from '#adapters/stytch/index.js';
import {
  type ApplyAction,
  type ApplyPlan,
  desiredRegistrationFields,
  type PlannedEntry,
  planApply,
  planCounts,
  planNeedsStytch,
  type StytchClientFact,
} from '#core/applyPlan.js';
import { ClientsFileError, parseClientsFile } from '#core/clientsFile.js';
import { toError } from '#core/errors.js';
import type { ClientRef } from '#core/ports.js';
import { BUDGET_NAMES } from '#core/rateBudget.js';
import { type ClientRegistration, rotationScheduleName } from '#core/registry.js';
import type { Secret } from '#core/secret.js';
import {
  atStytch,
  type CliBudget,
  cliBudget,
  ENROLMENT_RESOURCES,
  indexCurrentSecret,
  MANAGED_BY,
  optionalDeadLetterQueue,
  putRotationSchedule,
  type RotationScheduling,
  type SecretEnrolment,
  storeCurrentSecret,
} from '../clientEnrolment.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { EXIT_CODES_HELP } from '../output.js';
import {
  addResourceOptions,
  optionalResource,
  type ResourceFlags,
  requestedBy,
  resolveResource,
  resolveSecretPrefix,
  usageError,
  withAws,
} from '../resources.js';
import { forTerminal, jsonLine } from '../terminalText.js';

interface ApplyFlags extends ResourceFlags {
  readonly file?: string;
  readonly dryRun?: boolean;
  readonly prune?: boolean;
  readonly json?: boolean;
  readonly concurrency?: string;
}

/**
 * Stytch limits its management routes in fixed windows and sends no `Retry-After`: an apply of a
 * fleet meets them, so its calls back off across more than a window (up to ~20 s in all) before a
 * client counts as failed; a 429 was never processed, so retrying a create is safe.
 */
const APPLY_STYTCH_RETRY = { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 5_000 } as const;

/** Clients applied at once: each is a few calls, so a handful keeps the wall time down without a burst. */
const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 32;

/** Registers `rotator apply`. */
export function registerApplyCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('apply')
    .summary('make the managed clients match a clients file (plan, then create / adopt / change / remove)')
    .description(
      'Reconcile the registry, Stytch and the rotation schedules with a file that lists the desired clients ' +
        '(YAML or JSON, docs/fleet.md), the way terraform plan/apply does: every entry is checked first (a file ' +
        'with a problem changes nothing, and each problem is named with its line), then the plan is printed ' +
        '(create / adopt / change / remove), then applied. Applying the same file again changes nothing; an apply ' +
        'that stopped halfway converges when run again.\n\n' +
        'An entry without clientId creates an M2M client of its name at Stytch; one with clientId adopts that ' +
        'client (its current secret must be in Secrets Manager at <prefix>/<clientId>, or the entry says ' +
        'resecret: true). A deployment config (config/rotator.json) is a clients file too: applying it moves ' +
        'its clients into the registry. Removing an entry stops managing that client only with --prune (its ' +
        'schedule and registration go; its Stytch client and its secret stay as they are). The secrets are ' +
        'never printed.',
    )
    .requiredOption('-f, --file <path>', 'the clients file (.yaml, .yml or .json)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--prune', 'stop managing the clients apply manages that the file no longer lists')
    .option(
      '--concurrency <n>',
      `clients applied at once (1-${MAX_CONCURRENCY}; default: ${DEFAULT_CONCURRENCY})`,
    )
    .option(
      '--json',
      'print one JSON document: {dryRun, file, counts, actions: [{action, name, clientId, line, changes, result, error}], failed}',
    );
  addResourceOptions(command, ENROLMENT_RESOURCES);
  command.addHelpText(
    'after',
    `${EXIT_CODES_HELP}\nA file with problems exits 2 with one line per problem (<file>:<line>: <path>: <problem>);\n` +
      'an apply where some clients failed exits 1 (the others are applied; run it again).\n\n' +
      'Examples:\n' +
      '  $ rotator apply -f clients.yaml --dry-run\n' +
      '  $ rotator apply -f clients.yaml\n' +
      '  $ rotator apply -f clients.yaml --prune --json\n' +
      "  $ rotator apply -f config/rotator.json     # move a deployment config's clients into the registry",
  );
  command.action(async (flags: ApplyFlags) => {
    context.setExitCode(await apply(context.io, flags));
  });
}

/** One action as `--json` prints it and the text output lists it. */
interface ActionReport {
  readonly action: ApplyAction['action'];
  readonly name: string;
  readonly clientId: string | null;
  readonly line: number | null;
  readonly changes?: readonly string[];
  readonly result: 'planned' | 'done' | 'failed';
  readonly error?: string;
}

async function apply(io: CliIo, flags: ApplyFlags): Promise<number> {
  const concurrency = parseConcurrency(flags.concurrency);
  const path = flags.file ?? '';
  const parsed = await readClientsFile(io, path);
  if (typeof parsed === 'number') return parsed;
  const resources = resolveApplyResources(io, flags, parsed.entries);

  return withAws(io, async (aws) => {
    const ledger = aws.ledger(resources.table);
    // Stytch calls and secret writes take from the budgets the functions keep: an apply of a fleet
    // never starves the rotations, nor they it.
    const budget = cliBudget(aws, resources.table, flags, io);
    const store = new SecretsManagerStore({ client: budget.secretsManager, prefix: resources.prefix });
    const stytch = lazyStytch(aws, resources, budget);
    try {
      const plan = await makePlan(store, ledger, stytch, parsed.entries, {
        prune: flags.prune === true,
        stytchRequestsPerSecond: budget.budget.limit(BUDGET_NAMES.stytchManagement),
      });
      if (plan.problems.length > 0) {
        for (const problem of plan.problems) {
          io.stderr.write(
            `rotator: ${forTerminal(`${path}:${problem.line}: clients[${problem.index}]: ${problem.message}`)}\n`,
          );
        }
        io.stderr.write('rotator: the plan has problems: nothing was changed\n');
        return ExitCode.usage;
      }
      if (
        plan.actions.some((action) => action.action === 'remove' && action.current.schedule !== undefined)
      ) {
        resolveResource('scheduleGroup', flags, io);
      }
      if (flags.dryRun === true) {
        return report(io, path, plan, new Map(), { dryRun: true, json: flags.json === true });
      }
      if (flags.json !== true) writePlan(io, path, plan);
      const run = await applyRun(aws, ledger, store, stytch, resources, plan);
      const results = await executePlan(io, run, plan, concurrency);
      return report(io, path, plan, results, { dryRun: false, json: flags.json === true });
    } finally {
      await stytch.close();
    }
  });
}

/** The file, parsed and checked; or, when it has problems, the exit code after printing each with its line. */
async function readClientsFile(
  io: CliIo,
  path: string,
): Promise<ReturnType<typeof parseClientsFile> | number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw usageError(
      `-f ${forTerminal(path, 200)}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    const parsed = parseClientsFile(text, path);
    for (const note of parsed.notes) io.stderr.write(`rotator: ${forTerminal(note)}\n`);
    return parsed;
  } catch (error) {
    if (!(error instanceof ClientsFileError)) throw error;
    for (const problem of error.problems) io.stderr.write(`rotator: ${forTerminal(problem)}\n`);
    io.stderr.write(
      `rotator: ${error.problems.length === 1 ? 'a problem' : 'problems'} in ${forTerminal(path, 200)}: nothing was changed\n`,
    );
    return ExitCode.usage;
  }
}

/** Where the rotator's resources are (flags, environment, stack outputs), resolved before any call. */
interface ApplyResources {
  readonly table: string;
  readonly prefix: string;
  readonly keySecretId: string;
  readonly credentialsSecretId: string;
  readonly stytchBaseUrl: string | undefined;
  readonly kmsKeyId: string | undefined;
  readonly scheduling: RotationScheduling | undefined;
  /** Removing a client deletes its schedule: the group is needed when a removal may come. */
  readonly scheduleGroup: string | undefined;
  readonly registeredBy: string;
}

function resolveApplyResources(
  io: CliIo,
  flags: ApplyFlags,
  entries: readonly PlannedEntry[],
): ApplyResources {
  const scheduling: RotationScheduling | undefined = entries.some(
    (entry) => entry.spec.schedule !== undefined,
  )
    ? {
        stateMachineArn: resolveResource('stateMachineArn', flags, io),
        group: resolveResource('scheduleGroup', flags, io),
        roleArn: resolveResource('schedulerRoleArn', flags, io),
        ...optionalDeadLetterQueue(flags, io),
      }
    : undefined;
  return {
    table: resolveResource('table', flags, io),
    prefix: resolveSecretPrefix(flags, io),
    keySecretId: resolveResource('fingerprintKeySecret', flags, io),
    credentialsSecretId: resolveResource('stytchCredentialsSecret', flags, io),
    stytchBaseUrl: optionalResource('stytchBaseUrl', flags, io),
    kmsKeyId: optionalResource('kmsKey', flags, io),
    scheduling,
    scheduleGroup: scheduling?.group ?? optionalResource('scheduleGroup', flags, io),
    registeredBy: requestedBy(io),
  };
}

/** Our Stytch client, made (with the project credentials read) on first use only: an apply that changes nothing at Stytch never reads them. */
function lazyStytch(
  aws: AwsClients,
  resources: ApplyResources,
  budget: CliBudget,
): { get(): Promise<{ client: StytchClient; projectId: string }>; close(): Promise<void> } {
  let made: Promise<{ client: StytchClient; projectId: string }> | undefined;
  return {
    get: () => {
      made ??= readStytchCredentials(aws.secretsManager, resources.credentialsSecretId).then(
        (credentials) => ({
          projectId: credentials.projectId,
          client: new StytchClient({
            projectId: credentials.projectId,
            secret: credentials.secret,
            retry: APPLY_STYTCH_RETRY,
            beforeRequest: budget.budget.acquireStytch,
            ...(resources.stytchBaseUrl === undefined ? {} : { baseUrl: resources.stytchBaseUrl }),
          }),
        }),
      );
      return made;
    },
    close: async () => {
      if (made !== undefined) await (await made.catch(() => undefined))?.client.close();
    },
  };
}

/** Reads what the plan needs (Stytch's clients and the stored secrets only when an entry is new) and plans. */
async function makePlan(
  store: SecretsManagerStore,
  ledger: DynamoLedger,
  stytch: ReturnType<typeof lazyStytch>,
  entries: readonly PlannedEntry[],
  options: Parameters<typeof planApply>[2],
): Promise<ApplyPlan> {
  const registry = await ledger.listRegistrations();
  const needsStytch = planNeedsStytch(entries, registry);
  const facts = {
    registry,
    storedSecrets: new Set(needsStytch ? await store.clientIds() : []),
    ...(needsStytch ? { stytch: await stytchFacts((await stytch.get()).client) } : {}),
  };
  return planApply(entries, facts, options);
}

/** What executing a plan's actions works with. */
async function applyRun(
  aws: AwsClients,
  ledger: DynamoLedger,
  store: SecretsManagerStore,
  stytch: ReturnType<typeof lazyStytch>,
  resources: ApplyResources,
  plan: ApplyPlan,
): Promise<ApplyRun> {
  const changing = plan.actions.filter((action) => action.action !== 'unchanged' && action.action !== 'keep');
  const atStytchToo = changing.some((action) => action.action !== 'remove');
  const enrols = changing.some((action) => action.action === 'create' || action.action === 'adopt');
  const connected = atStytchToo ? await stytch.get() : undefined;
  return {
    aws,
    ledger,
    store,
    stytch: connected?.client,
    enrolment:
      connected === undefined || !enrols
        ? undefined
        : {
            store,
            ledger,
            fingerprints: new SecretsManagerFingerprints({
              client: aws.secretsManager,
              keySecretId: resources.keySecretId,
            }),
            projectId: connected.projectId,
            tokenUrl: `${connected.client.baseUrl}/v1/public/${connected.projectId}/oauth2/token`,
            description:
              'Stytch client secret, managed and rotated by stytch-m2m-rotator: AWSCURRENT is what consumers use',
            ...(resources.kmsKeyId === undefined ? {} : { kmsKeyId: resources.kmsKeyId }),
          },
    scheduling: resources.scheduling,
    scheduleGroup: resources.scheduleGroup,
    registeredBy: resources.registeredBy,
  };
}

/** Runs every action that changes something, `concurrency` at once, with a progress bar on a terminal. */
async function executePlan(
  io: CliIo,
  run: ApplyRun,
  plan: ApplyPlan,
  concurrency: number,
): Promise<Map<ApplyAction, { ok: true } | { ok: false; error: string }>> {
  const changing = plan.actions.filter((action) => action.action !== 'unchanged' && action.action !== 'keep');
  const results = new Map<ApplyAction, { ok: true } | { ok: false; error: string }>();
  const progress = progressLine(io, changing.length);
  let failed = 0;
  await forEachBounded(changing, concurrency, async (action) => {
    try {
      await execute(run, action);
      results.set(action, { ok: true });
    } catch (thrown) {
      const error = toError(thrown);
      // Stytch out of reach is the setup (exit 2), not one client's failure.
      if (error instanceof CliError && error.code === 'stytch_unreachable') throw error;
      results.set(action, { ok: false, error: error.message });
      failed += 1;
    }
    progress.step(results.size, failed);
  });
  progress.done();
  return results;
}

function parseConcurrency(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_CONCURRENCY;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY) {
    throw usageError(`--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}`);
  }
  return value;
}

/** Every M2M client and Connected App at Stytch (search pages of 1,000), by id. */
async function stytchFacts(stytch: StytchClient): Promise<Map<string, StytchClientFact>> {
  return atStytch(stytch, async () => {
    const facts = new Map<string, StytchClientFact>();
    for await (const client of stytch.m2m.searchAll({ limit: 1000 })) {
      facts.set(client.clientId, {
        clientId: client.clientId,
        kind: 'm2m',
        name: client.clientName,
        scopes: client.scopes,
        managedByRotator: client.trustedMetadata.managed_by === MANAGED_BY.managed_by,
      });
    }
    for await (const app of stytch.connectedApps.searchAll({ limit: 1000 })) {
      facts.set(app.clientId, {
        clientId: app.clientId,
        kind: 'connected_app',
        name: app.clientName,
        scopes: [],
        managedByRotator: false,
        isPublic: app.isPublic,
      });
    }
    return facts;
  });
}

/** What executing the actions works with. */
interface ApplyRun {
  readonly aws: AwsClients;
  readonly ledger: DynamoLedger;
  readonly store: SecretsManagerStore;
  readonly stytch: StytchClient | undefined;
  readonly enrolment: SecretEnrolment | undefined;
  readonly scheduling: RotationScheduling | undefined;
  readonly scheduleGroup: string | undefined;
  readonly registeredBy: string;
}

/** Makes one action so; each step is idempotent, and the registry write comes last (the commit). */
async function execute(run: ApplyRun, action: ApplyAction): Promise<void> {
  switch (action.action) {
    case 'create':
      return create(run, action);
    case 'adopt':
      return adopt(run, action);
    case 'change':
      return change(run, action);
    case 'remove':
      return remove(run, action.current);
    default:
      return;
  }
}

function needed<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal: ${what} missing for this action`);
  return value;
}

async function create(run: ApplyRun, action: Extract<ApplyAction, { action: 'create' }>): Promise<void> {
  const stytch = needed(run.stytch, 'Stytch');
  const enrolment = needed(run.enrolment, 'enrolment');
  const { spec } = action.entry;
  const scopes = [...(spec.scopes ?? [])];
  let clientId: string;
  if (action.recoverClientId === undefined) {
    // Marked as ours, so a stop before the registry write is recovered by name on the next run.
    const created = await atStytch(stytch, () =>
      stytch.m2m.create({ clientName: spec.name, scopes, trustedMetadata: MANAGED_BY }),
    );
    clientId = created.client.clientId;
    await storeCurrentSecret(enrolment, { clientId, kind: 'm2m' }, created.clientSecret);
  } else {
    clientId = action.recoverClientId;
    const ref: ClientRef = { clientId, kind: 'm2m' };
    const kept = action.secretStored === true ? await storedCurrent(run, ref) : undefined;
    if (kept === undefined) await storeCurrentSecret(enrolment, ref, await resecret(stytch, clientId));
    else await indexCurrentSecret(enrolment, ref, kept.secret, kept.versionId);
    await atStytch(stytch, () => stytch.m2m.update(clientId, { scopes }));
  }
  await commit(run, action.entry, clientId, scopes, undefined);
}

async function adopt(run: ApplyRun, action: Extract<ApplyAction, { action: 'adopt' }>): Promise<void> {
  const stytch = needed(run.stytch, 'Stytch');
  const enrolment = needed(run.enrolment, 'enrolment');
  const { spec } = action.entry;
  const ref: ClientRef = { clientId: action.clientId, kind: spec.kind };
  if (action.resecret) {
    await storeCurrentSecret(enrolment, ref, await resecret(stytch, action.clientId));
  } else {
    const kept = await storedCurrent(run, ref);
    if (kept === undefined) {
      throw new CliError(
        `${run.store.secretIdOf(ref)} holds no current secret of ${action.clientId} that the rotator can use ` +
          "(a placeholder, or another client's): store it there, or set resecret: true",
        { code: 'not_enrolled' },
      );
    }
    await indexCurrentSecret(enrolment, ref, kept.secret, kept.versionId);
  }
  let scopes: string[] = [];
  if (spec.kind === 'm2m') {
    const client = await atStytch(stytch, () =>
      action.setScopes && spec.scopes !== undefined
        ? stytch.m2m.update(action.clientId, { scopes: [...spec.scopes] })
        : stytch.m2m.get(action.clientId),
    );
    scopes = [...client.scopes];
  }
  await commit(run, action.entry, action.clientId, scopes, undefined);
}

async function change(run: ApplyRun, action: Extract<ApplyAction, { action: 'change' }>): Promise<void> {
  const { spec } = action.entry;
  const { current } = action;
  if (action.changes.includes('scopes') && spec.scopes !== undefined && current.clientKind === 'm2m') {
    const stytch = needed(run.stytch, 'Stytch');
    await atStytch(stytch, () => stytch.m2m.update(current.clientId, { scopes: [...(spec.scopes ?? [])] }));
  }
  await commit(run, action.entry, current.clientId, [...(spec.scopes ?? current.scopes)], current);
}

/**
 * Writes the schedule the entry asks for (or deletes the one it no longer has), then the
 * registration: the commit point of every action, so a stop before it is planned again.
 */
async function commit(
  run: ApplyRun,
  entry: PlannedEntry,
  clientId: string,
  scopes: readonly string[],
  current: ClientRegistration | undefined,
): Promise<void> {
  const desired = desiredRegistrationFields(entry.spec);
  let schedule: ClientRegistration['schedule'];
  if (desired.schedule !== undefined) {
    const scheduleName = await putRotationSchedule(
      run.aws.scheduler,
      clientId,
      desired.schedule,
      needed(run.scheduling, 'scheduling'),
    );
    schedule = { ...desired.schedule, scheduleName };
  } else if (current?.schedule !== undefined) {
    await new SchedulerSchedules({ client: run.aws.scheduler }).deleteSchedule(
      current.schedule.scheduleName,
      needed(run.scheduleGroup, 'schedule group'),
    );
  }
  const now = new Date().toISOString();
  await run.ledger.replaceRegistration(
    {
      clientId,
      clientKind: desired.clientKind,
      name: desired.name,
      scopes: [...scopes],
      expectedConsumers: desired.expectedConsumers,
      ...(desired.policy === undefined ? {} : { policy: desired.policy }),
      ...(schedule === undefined ? {} : { schedule }),
      secretId: run.store.secretIdOf({ clientId, kind: desired.clientKind }),
      registeredAt: current?.registeredAt ?? now,
      registeredBy: current?.registeredBy ?? run.registeredBy,
      registrar: 'apply',
      updatedAt: now,
    },
    current?.name,
  );
}

/** Stops managing a client: refused while a rotation holds it (its execution still needs it). */
async function remove(run: ApplyRun, current: ClientRegistration): Promise<void> {
  const lock = await run.ledger.getLock(current.clientId);
  if (lock !== null && Date.parse(lock.expiresAt) > Date.now()) {
    throw new CliError(
      `${current.clientId} is being rotated (rotation ${lock.rotationId}): run apply again when it has ended`,
      { code: 'rotation_in_progress' },
    );
  }
  if (current.schedule !== undefined) {
    await new SchedulerSchedules({ client: run.aws.scheduler }).deleteSchedule(
      current.schedule.scheduleName ?? rotationScheduleName(current.clientId),
      needed(run.scheduleGroup, 'schedule group'),
    );
  }
  await run.ledger.removeRegistration(current);
}

/** The client's AWSCURRENT secret as the rotator stored it, or undefined when it is not one. */
async function storedCurrent(
  run: ApplyRun,
  ref: ClientRef,
): Promise<{ readonly secret: Secret; readonly versionId: string } | undefined> {
  try {
    const versions = await run.store.versions(ref);
    const value = await run.store.read(ref, 'AWSCURRENT');
    if (value === null || versions.currentVersionId === null || value.clientId !== ref.clientId)
      return undefined;
    return { secret: value.clientSecret, versionId: versions.currentVersionId };
  } catch (error) {
    if (toError(error).name === 'SecretValueFormatError') return undefined;
    throw error;
  }
}

/** Gives an M2M client a new secret at Stytch (cancelling a rotation left pending), and returns it. */
async function resecret(stytch: StytchClient, clientId: string): Promise<Secret> {
  return atStytch(stytch, async () => {
    const client = await stytch.m2m.get(clientId);
    if (client.nextClientSecretLastFour !== null) await stytch.m2m.rotateCancel(clientId);
    const started = await stytch.m2m.rotateStart(clientId);
    await stytch.m2m.rotateComplete(clientId);
    return started.nextClientSecret;
  });
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const queue = items.entries();
  const worker = async (): Promise<void> => {
    for (const [, item] of queue) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A live `applied n/N` line on a terminal; nothing when stderr is not one. */
function progressLine(io: CliIo, total: number): { step(done: number, failed: number): void; done(): void } {
  if (io.stderr.isTTY !== true || total === 0) return { step: () => {}, done: () => {} };
  let last = 0;
  const draw = (done: number, failed: number) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    io.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} applied${failed > 0 ? `, ${failed} failed` : ''}`,
    );
  };
  return {
    step: (done, failed) => {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      draw(done, failed);
    },
    done: () => io.stderr.write('\n'),
  };
}

const SIGNS: Record<ApplyAction['action'], string> = {
  create: '+',
  adopt: '>',
  change: '~',
  remove: '-',
  unchanged: '=',
  keep: '!',
};

function nameOf(action: ApplyAction): string {
  return 'entry' in action ? action.entry.spec.name : action.current.name;
}

function clientIdOf(action: ApplyAction): string | null {
  switch (action.action) {
    case 'create':
      return action.recoverClientId ?? null;
    case 'adopt':
      return action.clientId;
    default:
      return action.current.clientId;
  }
}

function describe(action: ApplyAction): string {
  switch (action.action) {
    case 'create':
      return action.recoverClientId === undefined
        ? 'create'
        : `create (recover ${action.recoverClientId}, made by an apply that stopped${action.secretStored === true ? '' : '; new secret'})`;
    case 'adopt':
      return `adopt${action.resecret ? ' (new secret: what uses the old one stops working)' : ''}${action.setScopes ? ' (set scopes)' : ''}`;
    case 'change':
      return `change ${action.changes.join(', ')}`;
    case 'remove':
      return 'remove (stop managing: schedule and registration go; Stytch client and secret stay)';
    case 'keep':
      return action.why === 'registered'
        ? 'not in the file, kept: registered with rotator register'
        : 'not in the file, kept: --prune removes it';
    default:
      return 'unchanged';
  }
}

function summary(plan: ApplyPlan): string {
  const counts = planCounts(plan);
  return (
    `${counts.create} to create, ${counts.adopt} to adopt, ${counts.change} to change, ${counts.remove} to remove, ` +
    `${counts.unchanged} unchanged${counts.keep > 0 ? `, ${counts.keep} not in the file (kept)` : ''}`
  );
}

function writePlan(io: CliIo, path: string, plan: ApplyPlan): void {
  io.stdout.write(`Plan: ${summary(plan)}\n`);
  for (const action of plan.actions) {
    // Unchanged clients and `register`'s are counted in the summary, not listed: a fleet's plan
    // lists what changes.
    if (action.action === 'unchanged' || (action.action === 'keep' && action.why === 'registered')) continue;
    const where = 'entry' in action ? ` (${forTerminal(`${path}:${action.entry.line}`, 240)})` : '';
    const id = clientIdOf(action);
    io.stdout.write(
      `  ${SIGNS[action.action]} ${forTerminal(nameOf(action), 100)}${id === null || id === nameOf(action) ? '' : ` ${forTerminal(id, 140)}`}: ${forTerminal(describe(action))}${where}\n`,
    );
  }
}

/** Prints the outcome (text or `--json`); returns the exit code. */
function report(
  io: CliIo,
  path: string,
  plan: ApplyPlan,
  results: ReadonlyMap<ApplyAction, { ok: true } | { ok: false; error: string }>,
  options: { readonly dryRun: boolean; readonly json: boolean },
): number {
  const listed = plan.actions.filter((action) => action.action !== 'unchanged');
  const reports: ActionReport[] = listed.map((action) => {
    const result = results.get(action);
    return {
      action: action.action,
      name: nameOf(action),
      clientId: clientIdOf(action),
      line: 'entry' in action ? action.entry.line : null,
      ...(action.action === 'change' ? { changes: action.changes } : {}),
      result: options.dryRun || result === undefined ? 'planned' : result.ok ? 'done' : 'failed',
      ...(result !== undefined && !result.ok ? { error: result.error } : {}),
    };
  });
  const failed = reports.filter((entry) => entry.result === 'failed');
  if (options.json) {
    io.stdout.write(
      jsonLine({
        dryRun: options.dryRun,
        file: path,
        counts: planCounts(plan),
        actions: reports,
        failed: failed.length,
      }),
    );
  } else if (options.dryRun) {
    writePlan(io, path, plan);
    io.stdout.write('Dry run: nothing was changed.\n');
  } else {
    for (const entry of failed) {
      io.stderr.write(
        `rotator: ${forTerminal(`${entry.name}: ${entry.action} failed: ${entry.error ?? ''}`)}\n`,
      );
    }
    const counts = planCounts(plan);
    const doneOf = (kind: ApplyAction['action']) =>
      reports.filter((entry) => entry.action === kind && entry.result === 'done').length;
    io.stdout.write(
      `Applied: ${doneOf('create')} created, ${doneOf('adopt')} adopted, ${doneOf('change')} changed, ` +
        `${doneOf('remove')} removed, ${counts.unchanged} unchanged; ${failed.length} failed` +
        `${failed.length > 0 ? ': run apply again to retry them' : ''}\n`,
    );
  }
  return failed.length > 0 ? ExitCode.failed : ExitCode.ok;
}
