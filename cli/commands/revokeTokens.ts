import type { Command } from 'commander';
import { AwsServiceError, EventBridgePublisher, EventPublishError } from '#adapters/aws/index.js';
import { EVENT_SOURCES } from '#core/events.js';
import { NoteSchema, TimestampSchema } from '#core/model.js';
import {
  MAX_TOKEN_LIFETIME_SECONDS,
  REVOCATION_SKEW_SECONDS,
  type RevocationRecord,
  revocationFor,
} from '#core/tokenRevocation.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { assertManaged } from '../managed.js';
import { EXIT_CODES_HELP } from '../output.js';
import {
  addResourceOptions,
  parseClientId,
  type ResourceFlags,
  requestedBy,
  resolveResource,
  resolveSecretPrefix,
  usageError,
  withAws,
} from '../resources.js';
import { forTerminal, jsonLine } from '../terminalText.js';

interface RevokeTokensFlags extends ResourceFlags {
  readonly before?: string;
  readonly reason?: string;
  readonly json?: boolean;
}

/** Registers `rotator revoke-tokens`. */
export function registerRevokeTokensCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('revoke-tokens')
    .argument('<clientId>', 'the managed client whose tokens resource servers must refuse')
    .summary("make resource servers refuse a client's access tokens issued before now (or --before)")
    .description(
      'Publish a Token Revocation Requested event on the rotator bus. The TokenRevocationPublisher then ' +
        "writes the client's record into the token revocation document (cutoff: --before, or now, rounded " +
        'up to the next whole second) and announces Client Tokens Revoked; resource servers that follow ' +
        'docs/token-revocation.md refuse every token of the client with iat before the cutoff. A record ' +
        'already there with a later cutoff is kept. The secret is not rotated: for a leak, use rotator ' +
        'leak report, which revokes the tokens itself once the leaked secret is dead.',
    )
    .option(
      '--before <time>',
      'ISO-8601 time with offset; not in the future, not over an hour ago (default: now)',
    )
    .option('--reason <text>', 'why (a ticket, an incident); 1-500 characters, audit text in the logs')
    .option('--json', 'print {eventId, clientId, cutoff, expiresAt, rotationId, reason, requestedBy}');
  addResourceOptions(command, ['eventBus', 'secretPrefix']);
  command.addHelpText(
    'after',
    `${EXIT_CODES_HELP}\n(a client with no secret <prefix>/<clientId> is not managed by this deployment: exit 2,\n` +
      'nothing sent.)\n\n' +
      "The event is sent with source stytch-m2m-rotator.operator, which needs the stack's operator grant\n" +
      '(OperatorPolicyArn).\n\n' +
      'Examples:\n' +
      '  $ rotator revoke-tokens m2m-client-test-billing-worker --reason INC-42\n' +
      '  $ rotator revoke-tokens m2m-client-test-billing-worker --before 2026-11-25T12:00:00Z --json',
  );
  command.action(async (clientIdArg: string, flags: RevokeTokensFlags) => {
    context.setExitCode(await revokeTokens(context.io, clientIdArg, flags));
  });
}

async function revokeTokens(io: CliIo, clientIdArg: string, flags: RevokeTokensFlags): Promise<number> {
  // Every input is checked before anything is read or sent.
  const clientId = parseClientId(clientIdArg);
  const now = new Date();
  const before = parseBefore(flags.before, now);
  const note = flags.reason === undefined ? undefined : NoteSchema.safeParse(flags.reason);
  if (note !== undefined && !note.success) throw usageError('--reason must be 1 to 500 characters');
  const eventBus = resolveResource('eventBus', flags, io);
  const prefix = resolveSecretPrefix(flags, io);
  const requester = requestedBy(io);

  return withAws(io, async (aws) => {
    await assertManaged(aws, { clientId, prefix });
    const eventId = await publishRequest(aws.eventBridge, eventBus, {
      clientId,
      before: before.toISOString(),
      ...(note?.data === undefined ? {} : { note: note.data }),
      requestedBy: requester,
    });
    // What the publisher writes for this request (unless the document holds a later cutoff).
    const record = revocationFor({ clientId, before, rotationId: null, reason: 'operator' });
    printRecord(io, flags.json === true, eventId, record, requester, eventBus);
    return ExitCode.ok;
  });
}

/** `--before` as a Date: now by default; a time in the future or past every token's life is a usage error. */
function parseBefore(raw: string | undefined, now: Date): Date {
  if (raw === undefined) return now;
  if (!TimestampSchema.safeParse(raw).success) {
    throw usageError(
      `--before "${raw.slice(0, 60)}" must be an ISO-8601 time with an offset (2026-11-25T12:00:00Z)`,
    );
  }
  const before = new Date(raw);
  if (before.getTime() > now.getTime()) {
    throw usageError(
      '--before is in the future: it would refuse tokens not yet issued, the new secret’s too',
    );
  }
  const oldest = now.getTime() - (MAX_TOKEN_LIFETIME_SECONDS + REVOCATION_SKEW_SECONDS) * 1000;
  if (before.getTime() < oldest) {
    throw usageError('--before is over an hour ago: every token issued before it has already expired');
  }
  return before;
}

async function publishRequest(
  client: ConstructorParameters<typeof EventBridgePublisher>[0]['client'],
  eventBus: string,
  detail: { clientId: string; before: string; note?: string; requestedBy: string },
): Promise<string> {
  try {
    const publisher = new EventBridgePublisher({
      client,
      eventBusName: eventBus,
      source: EVENT_SOURCES.operator,
    });
    const [eventId] = await publisher.publish({ detailType: 'Token Revocation Requested', detail });
    return eventId ?? '';
  } catch (error) {
    if (error instanceof AwsServiceError && error.errorCode === 'AccessDeniedException') {
      throw new CliError(
        `the event bus ${eventBus} refused the request: AccessDeniedException: only a principal holding the ` +
          `stack's operator grant (OperatorPolicyArn) may publish as ${EVENT_SOURCES.operator}`,
        { code: 'put_events_denied', cause: error },
      );
    }
    if (!(error instanceof EventPublishError)) throw error;
    throw new CliError(`the event bus ${eventBus} refused the request: ${error.message}`, {
      code: 'put_events',
      cause: error,
    });
  }
}

function printRecord(
  io: CliIo,
  json: boolean,
  eventId: string,
  record: RevocationRecord,
  requester: string,
  eventBus: string,
): void {
  if (json) {
    io.stdout.write(jsonLine({ eventId, ...record, requestedBy: requester }));
    return;
  }
  io.stdout.write(
    `Requested the revocation of ${record.clientId}'s tokens (event ${forTerminal(eventId, 100)} on ${forTerminal(eventBus)}).\n` +
      `Resource servers refuse its tokens issued before ${record.cutoff}; the record expires at ${record.expiresAt}.\n`,
  );
}
