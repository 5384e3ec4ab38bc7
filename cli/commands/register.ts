import type { Command } from 'commander';
import { SecretsManagerFingerprints } from '#adapters/aws/SecretsManagerFingerprints.js';
import { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { readStytchCredentials } from '#adapters/aws/SecretValueReader.js';
import { StytchClient } from '#adapters/stytch/index.js';
import type { M2MClient } from '#adapters/stytch/types.js';
import { fingerprintEntry } from '#core/fingerprintedSecrets.js';
import { ConsumerNameSchema } from '#core/model.js';
import { ClientNameSchema, type ClientRegistration, ScopeSchema } from '#core/registry.js';
import { isKnownTimeZone, scheduleExpressionProblem } from '#core/scheduleExpression.js';
import { DEFAULT_FLEXIBLE_WINDOW_MINUTES } from '#core/scheduleSpread.js';
import type { Secret } from '#core/secret.js';
import {
  atStytch,
  cliBudget,
  ENROLMENT_RESOURCES,
  MANAGED_BY,
  optionalDeadLetterQueue,
  putRotationSchedule,
} from '../clientEnrolment.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { EXIT_CODES_HELP } from '../output.js';
import {
  addResourceOptions,
  masked,
  optionalResource,
  type ResourceFlags,
  requestedBy,
  resolveResource,
  usageError,
  withAws,
} from '../resources.js';
import { forTerminal, jsonLine } from '../terminalText.js';

interface RegisterFlags extends ResourceFlags {
  readonly name?: string;
  readonly scopes?: string;
  readonly schedule?: string;
  readonly timeZone?: string;
  readonly flexibleWindow?: string;
  readonly consumers?: string;
  readonly kind?: string;
  readonly adopt?: boolean;
  readonly json?: boolean;
}

/** What `register` asks for, validated. */
interface RegisterRequest {
  readonly name: string;
  readonly scopes: readonly string[];
  readonly consumers: readonly string[];
  readonly schedule?: {
    readonly expression: string;
    readonly timeZone: string;
    readonly flexibleWindowMinutes?: number;
  };
}

/** Registers `rotator register`. */
export function registerRegisterCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('register')
    .summary('create an M2M client at Stytch and put it under rotation (idempotent by --name)')
    .description(
      "Seed 002's register-service step, done so that the rotator manages the result: create the M2M client at " +
        'Stytch, store its secret in Secrets Manager (<prefix>/<client_id>), index its fingerprint and record it ' +
        'in the ledger (so the workflow rotates it like a configured client), and create its schedule.\n\n' +
        'Idempotent by name: a name already registered is reported (exit 0) and nothing is changed. Every input ' +
        'is checked before anything is created. The secret is never printed: only its last four characters.\n\n' +
        'A client of that name already at Stytch is taken over only when register created it (a run that stopped ' +
        'before its end: trusted_metadata.managed_by = stytch-m2m-rotator) or with --adopt; otherwise exit 2.',
    )
    .requiredOption(
      '--name <name>',
      'the client name (1-64 letters, digits, ".", "_", "-"): the idempotency key',
    )
    .requiredOption('--scopes <a,b>', 'its scopes, comma-separated (at least one)')
    .option(
      '--schedule <expression>',
      'rotate on this EventBridge Scheduler expression: rate(30 days) or cron(0 3 1 * ? *)',
    )
    .option('--time-zone <zone>', 'IANA time zone of --schedule (default: UTC)')
    .option(
      '--flexible-window <minutes>',
      'let Scheduler start up to this many minutes late (1-1440; default: 15, so schedules never stampede)',
    )
    .option(
      '--consumers <x,y>',
      'services that must report healthy before a rotation completes (default: none)',
    )
    .option('--kind <kind>', 'the client kind; only m2m can be created here (default: m2m)')
    .option(
      '--adopt',
      'take over a client of that name that register did not create (no trusted_metadata.managed_by): ' +
        'it gets a new secret, so whatever uses its current one stops working',
    )
    .option(
      '--json',
      'print {created, clientId, name, scopes, expectedConsumers, secretId, secretLastFour, schedule?, registeredAt, registeredBy}',
    );
  addResourceOptions(command, ENROLMENT_RESOURCES);
  command.addHelpText(
    'after',
    `${EXIT_CODES_HELP}\n(--state-machine-arn, --schedule-group and --scheduler-role-arn are needed with --schedule only.)\n\n` +
      'Examples:\n' +
      '  $ rotator register --name billing-worker --scopes read:invoices,write:invoices --consumers billing-api\n' +
      '  $ rotator register --name reporting --scopes read:reports --schedule "rate(30 days)" --json',
  );
  command.action(async (flags: RegisterFlags) => {
    context.setExitCode(await register(context.io, flags));
  });
}

/** Every problem with the inputs, at once: nothing is created unless all of them are right. */
function parseRequest(flags: RegisterFlags): RegisterRequest {
  const problems: string[] = [];
  const check = <T>(
    label: string,
    result: { success: true; data: T } | { success: false; error: { issues: { message: string }[] } },
  ): T | undefined => {
    if (result.success) return result.data;
    problems.push(`${label} ${result.error.issues[0]?.message ?? 'is invalid'}`);
    return undefined;
  };
  const name = check(
    `--name "${(flags.name ?? '').slice(0, 80)}"`,
    ClientNameSchema.safeParse(flags.name ?? ''),
  );
  const list = (text: string | undefined): string[] =>
    (text ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const scopes = list(flags.scopes);
  if (scopes.length === 0) problems.push('--scopes must name at least one scope');
  for (const scope of scopes) check(`scope "${scope.slice(0, 80)}"`, ScopeSchema.safeParse(scope));
  if (new Set(scopes).size !== scopes.length) problems.push('--scopes must not repeat a scope');
  const consumers = list(flags.consumers);
  for (const consumer of consumers)
    check(`consumer "${consumer.slice(0, 80)}"`, ConsumerNameSchema.safeParse(consumer));
  if (new Set(consumers).size !== consumers.length) problems.push('--consumers must not repeat a consumer');
  if (consumers.length > 100) problems.push('--consumers takes at most 100 consumers');
  if (flags.kind !== undefined && flags.kind !== 'm2m') {
    problems.push(
      flags.kind === 'connected_app'
        ? '--kind connected_app: Connected Apps are created in the Stytch dashboard; list them in the deployment config'
        : `--kind "${flags.kind.slice(0, 40)}" must be m2m`,
    );
  }
  let schedule: RegisterRequest['schedule'];
  if (flags.schedule !== undefined) {
    const problem = scheduleExpressionProblem(flags.schedule);
    const timeZone = flags.timeZone ?? 'UTC';
    if (problem !== undefined) problems.push(`--schedule ${problem}`);
    if (!isKnownTimeZone(timeZone))
      problems.push(`--time-zone "${timeZone.slice(0, 60)}" is not a known IANA time zone`);
    // Every schedule has a window: clients registered one by one at the same cron never stampede.
    let flexibleWindowMinutes = DEFAULT_FLEXIBLE_WINDOW_MINUTES;
    if (flags.flexibleWindow !== undefined) {
      flexibleWindowMinutes = Number(flags.flexibleWindow);
      if (
        !Number.isInteger(flexibleWindowMinutes) ||
        flexibleWindowMinutes < 1 ||
        flexibleWindowMinutes > 1440
      ) {
        problems.push('--flexible-window must be a whole number of minutes, 1-1440');
      }
    }
    schedule = { expression: flags.schedule, timeZone, flexibleWindowMinutes };
  } else if (flags.timeZone !== undefined || flags.flexibleWindow !== undefined) {
    problems.push('--time-zone and --flexible-window need --schedule');
  }
  if (problems.length > 0 || name === undefined) throw usageError(problems.join('; '));
  return { name, scopes, consumers, ...(schedule === undefined ? {} : { schedule }) };
}

async function register(io: CliIo, flags: RegisterFlags): Promise<number> {
  const request = parseRequest(flags);
  const table = resolveResource('table', flags, io);
  const prefix = resolveResource('secretPrefix', flags, io).replace(/\/+$/, '');
  const keySecretId = resolveResource('fingerprintKeySecret', flags, io);
  const credentialsSecretId = resolveResource('stytchCredentialsSecret', flags, io);
  const stytchBaseUrl = optionalResource('stytchBaseUrl', flags, io);
  const kmsKeyId = optionalResource('kmsKey', flags, io);
  const scheduling =
    request.schedule === undefined
      ? undefined
      : {
          ...request.schedule,
          stateMachineArn: resolveResource('stateMachineArn', flags, io),
          group: resolveResource('scheduleGroup', flags, io),
          roleArn: resolveResource('schedulerRoleArn', flags, io),
          ...optionalDeadLetterQueue(flags, io),
        };
  const registeredBy = requestedBy(io);

  return withAws(io, async (aws) => {
    const ledger = aws.ledger(table);
    const existing = await ledger.findRegistrationByName(request.name);
    if (existing !== null) {
      noteDifferences(io, existing, request);
      writeRegistration(io, existing, { created: false, json: flags.json === true });
      return ExitCode.ok;
    }

    const credentials = await readStytchCredentials(aws.secretsManager, credentialsSecretId);
    // Its Stytch calls and secret writes take from the budgets the functions keep.
    const budget = cliBudget(aws, table, flags, io);
    const stytch = new StytchClient({
      projectId: credentials.projectId,
      secret: credentials.secret,
      ...(stytchBaseUrl === undefined ? {} : { baseUrl: stytchBaseUrl }),
      beforeRequest: budget.budget.acquireStytch,
    });
    try {
      const { client, secret } = await atStytch(stytch, () =>
        createOrRecover(stytch, request, io, flags.adopt === true),
      );
      const store = new SecretsManagerStore({ client: budget.secretsManager, prefix });
      const ref = { clientId: client.clientId, kind: 'm2m' } as const;
      const secretId = store.secretIdOf(ref);
      const versionId = await store.createCurrent(
        ref,
        {
          projectId: credentials.projectId,
          clientId: client.clientId,
          clientSecret: secret,
          tokenUrl: `${stytch.baseUrl}/v1/public/${credentials.projectId}/oauth2/token`,
        },
        {
          description:
            'Stytch M2M client secret, registered and rotated by stytch-m2m-rotator: AWSCURRENT is what consumers use',
          ...(kmsKeyId === undefined ? {} : { kmsKeyId }),
        },
      );
      const fingerprints = new SecretsManagerFingerprints({ client: aws.secretsManager, keySecretId });
      await ledger.putFingerprint(
        await fingerprintEntry(
          fingerprints,
          { clientId: client.clientId, kind: 'm2m' },
          secret,
          versionId,
          'current',
          new Date(),
        ),
      );
      const scheduleName =
        scheduling === undefined
          ? undefined
          : await putRotationSchedule(aws.scheduler, client.clientId, scheduling, scheduling);
      // The ledger record is the commit point: until it exists, a re-run finds the client at
      // Stytch by name and recovers it.
      const registration = await ledger.putRegistration({
        clientId: client.clientId,
        clientKind: 'm2m',
        name: request.name,
        scopes: [...request.scopes],
        expectedConsumers: [...request.consumers],
        ...(scheduling === undefined || scheduleName === undefined
          ? {}
          : { schedule: { expression: scheduling.expression, timeZone: scheduling.timeZone, scheduleName } }),
        secretId,
        registeredAt: new Date().toISOString(),
        registeredBy,
      });
      writeRegistration(io, registration, {
        created: registration.clientId === client.clientId,
        json: flags.json === true,
        lastFour: secret.lastFour,
      });
      return ExitCode.ok;
    } finally {
      await stytch.close();
    }
  });
}

/**
 * Creates the client at Stytch, or, when a client of that name exists there but not in the ledger,
 * takes it over: when register made it (our `managed_by`: a run that stopped before its end) or the
 * operator says `--adopt`. Its secret was never kept, so it gets a new one (rotate/start, then
 * complete), which also revokes the old one. A client someone else made is never re-secreted
 * unasked: whatever uses it would lose its credentials.
 */
async function createOrRecover(
  stytch: StytchClient,
  request: RegisterRequest,
  io: CliIo,
  adopt: boolean,
): Promise<{ client: M2MClient; secret: Secret }> {
  const page = await stytch.m2m.search({
    limit: 2,
    query: { operator: 'AND', operands: [{ filterName: 'client_name', filterValue: [request.name] }] },
  });
  const found = page.clients.filter((client) => client.clientName === request.name);
  if (found.length > 1) {
    throw new CliError(
      `Stytch has several clients named "${request.name}"; register takes one name for one client`,
      {
        code: 'ambiguous_name',
      },
    );
  }
  const orphan = found[0];
  if (orphan === undefined) {
    const created = await stytch.m2m.create({
      clientName: request.name,
      scopes: [...request.scopes],
      trustedMetadata: MANAGED_BY,
    });
    return { client: created.client, secret: created.clientSecret };
  }
  const ours = orphan.trustedMetadata.managed_by === MANAGED_BY.managed_by;
  if (!ours && !adopt) {
    throw new CliError(
      `Stytch already has a client named "${request.name}" (${forTerminal(orphan.clientId, 140)}) that register did not create ` +
        '(no trusted_metadata.managed_by): pass --adopt to give it a new secret and register it (what uses its ' +
        'current secret stops working), or choose another --name',
      { code: 'foreign_client' },
    );
  }
  io.stderr.write(
    ours
      ? `rotator: ${forTerminal(orphan.clientId, 140)} is named "${request.name}" at Stytch but was never recorded; ` +
          'giving it a new secret (its old one was lost) and registering it\n'
      : `rotator: adopting ${forTerminal(orphan.clientId, 140)} (named "${request.name}" at Stytch, not created by register): ` +
          'giving it a new secret (its current one stops working) and registering it\n',
  );
  // Marked as ours first, so a re-run after a stop from here on recovers it without --adopt.
  if (!ours) await stytch.m2m.update(orphan.clientId, { trustedMetadata: MANAGED_BY });
  if (orphan.nextClientSecretLastFour !== null) await stytch.m2m.rotateCancel(orphan.clientId);
  const started = await stytch.m2m.rotateStart(orphan.clientId);
  const completed = await stytch.m2m.rotateComplete(orphan.clientId);
  return { client: completed, secret: started.nextClientSecret };
}

function noteDifferences(io: CliIo, existing: ClientRegistration, request: RegisterRequest): void {
  const differs =
    existing.scopes.join(',') !== request.scopes.join(',') ||
    existing.expectedConsumers.join(',') !== request.consumers.join(',') ||
    (existing.schedule?.expression ?? '') !== (request.schedule?.expression ?? '');
  if (differs) {
    io.stderr.write(
      `rotator: "${existing.name}" is registered already (${existing.clientId}) with other settings; nothing was changed\n`,
    );
  }
}

function writeRegistration(
  io: CliIo,
  registration: ClientRegistration,
  options: { readonly created: boolean; readonly json: boolean; readonly lastFour?: string },
): void {
  if (options.json) {
    io.stdout.write(
      jsonLine({
        created: options.created,
        clientId: registration.clientId,
        name: registration.name,
        scopes: registration.scopes,
        expectedConsumers: registration.expectedConsumers,
        secretId: registration.secretId,
        ...(options.lastFour === undefined ? {} : { secretLastFour: options.lastFour }),
        ...(registration.schedule === undefined ? {} : { schedule: registration.schedule }),
        registeredAt: registration.registeredAt,
        registeredBy: registration.registeredBy,
      }),
    );
    return;
  }
  const verb = options.created ? 'Registered' : 'Already registered:';
  const secret = options.lastFour === undefined ? '' : `, secret ${masked(options.lastFour)}`;
  const schedule =
    registration.schedule === undefined ? 'no schedule' : `schedule ${registration.schedule.expression}`;
  // The registration may be the ledger's (a re-run): printed escaped like every ledger field.
  io.stdout.write(
    `${verb} ${forTerminal(registration.name, 100)} as ${forTerminal(registration.clientId, 140)} ` +
      `(${forTerminal(`${registration.secretId}${secret}; ${schedule}`)})\n`,
  );
}
