import type { Command } from 'commander';
import { SecretsManagerFingerprints } from '#adapters/aws/SecretsManagerFingerprints.js';
import { Secret } from '#core/secret.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { CLI_LEAK_SOURCE, publishLeak } from '../leakEvents.js';
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

interface LeakReportFlags extends ResourceFlags {
  readonly clientId?: string;
  readonly secretStdin?: boolean;
  readonly reference?: string;
  readonly json?: boolean;
}

/** The most stdin `--secret-stdin` reads: a client secret is well under 1 KiB. */
const MAX_STDIN_BYTES = 64 * 1024;

/** Registers `rotator leak report`. */
export function registerLeakCommands(program: Command, context: CommandContext): void {
  const leak = program
    .command('leak')
    .summary('report a leaked secret (starts a leak rotation, or preempts the one in progress)');
  const report = leak
    .command('report')
    .summary('report a leak by client id, or by the leaked value on stdin (only its fingerprint is sent)')
    .description(
      'Publish a Secret Leak Detected event on the rotator bus. The leak intake then starts an emergency ' +
        '(leak) rotation, or preempts the rotation in progress: if the leaked secret is the current one it ' +
        'completes at once; if it is the pending one it is cancelled and a leak rotation follows.\n\n' +
        'With --secret-stdin the leaked value is read from stdin and fingerprinted HERE (HMAC-SHA256 under ' +
        "the deployment's fingerprint key, read from Secrets Manager); only the fingerprint leaves this " +
        'process. It is never printed, logged or sent.',
    )
    .option('--client-id <id>', 'the managed client whose secret leaked')
    .option('--secret-stdin', 'read the leaked value from stdin (one value; a trailing newline is dropped)')
    .option('--reference <text>', 'where it leaked (a URL, a ticket); 1-2048 characters')
    .option('--json', 'print {eventId, clientId?, fingerprint?, source, requestedBy}');
  addResourceOptions(report, ['eventBus', 'fingerprintKeySecret', 'secretPrefix']);
  report.addHelpText(
    'after',
    `${EXIT_CODES_HELP}\n(--fingerprint-key-secret is needed with --secret-stdin only, --secret-prefix with --client-id\n` +
      'only: a --client-id with no secret <prefix>/<clientId> is not managed by this deployment: exit 2,\n' +
      'nothing sent.)\n\n' +
      "The event is sent with source stytch-m2m-rotator.operator, which needs the stack's operator grant\n" +
      '(OperatorPolicyArn; without it PutEvents answers AccessDeniedException); the detail says\n' +
      `source "${CLI_LEAK_SOURCE}" and requestedBy "cli:<your user>".\n\n` +
      'Examples:\n' +
      '  $ rotator leak report --client-id m2m-client-test-billing-worker --reference https://github.com/acme/app/pull/7\n' +
      '  $ pbpaste | rotator leak report --secret-stdin --reference "pasted in #incidents"\n\n' +
      'Then watch it: rotator status <clientId>, rotator history <clientId>.',
  );
  report.action(async (flags: LeakReportFlags) => {
    context.setExitCode(await reportLeak(context.io, flags));
  });
}

async function reportLeak(io: CliIo, flags: LeakReportFlags): Promise<number> {
  // Every input is checked before anything is read or sent.
  if ((flags.clientId === undefined) === (flags.secretStdin !== true)) {
    throw usageError('leak report needs exactly one of --client-id <id> or --secret-stdin');
  }
  const clientId = flags.clientId === undefined ? undefined : parseClientId(flags.clientId);
  const reference = flags.reference?.trim();
  if (reference !== undefined && (reference.length < 1 || reference.length > 2048)) {
    throw usageError('--reference must be 1 to 2048 characters');
  }
  const eventBus = resolveResource('eventBus', flags, io);
  // Needed to tell a managed client from a mistyped id: the intake would drop the report unseen.
  const prefix = clientId === undefined ? undefined : resolveSecretPrefix(flags, io);
  const keySecretId =
    flags.secretStdin === true ? resolveResource('fingerprintKeySecret', flags, io) : undefined;
  const leaked = flags.secretStdin === true ? await readLeakedValue(io) : undefined;
  const requester = requestedBy(io);

  return withAws(io, async (aws) => {
    // The intake drops a report for a client it does not manage; say so instead of "reported".
    if (clientId !== undefined && prefix !== undefined) await assertManaged(aws, { clientId, prefix });
    let fingerprint: string | undefined;
    if (leaked !== undefined && keySecretId !== undefined) {
      const fingerprints = new SecretsManagerFingerprints({ client: aws.secretsManager, keySecretId });
      try {
        fingerprint = await fingerprints.fingerprint(leaked);
      } catch (error) {
        throw new CliError(
          `cannot fingerprint the value: ${forTerminal(error instanceof Error ? error.message : 'error')}`,
          {
            code: 'fingerprint_key',
            cause: error,
          },
        );
      }
    }
    const eventId = await publishLeak(aws, eventBus, {
      ...(clientId === undefined ? {} : { clientId }),
      ...(fingerprint === undefined ? {} : { fingerprint }),
      source: CLI_LEAK_SOURCE,
      requestedBy: requester,
      ...(reference === undefined ? {} : { reference }),
      detectedAt: new Date().toISOString(),
    });
    if (flags.json === true) {
      io.stdout.write(
        jsonLine({
          eventId: eventId,
          ...(clientId === undefined ? {} : { clientId }),
          ...(fingerprint === undefined ? {} : { fingerprint }),
          source: CLI_LEAK_SOURCE,
          requestedBy: requester,
        }),
      );
    } else {
      const what = clientId ?? `the secret with fingerprint ${fingerprint?.slice(0, 12)}…`;
      io.stdout.write(
        `Reported the leak of ${forTerminal(what)} (event ${forTerminal(eventId, 100)} on ${forTerminal(eventBus)}).\n` +
          'The leak intake now starts a leak rotation, or preempts the rotation in progress.\n' +
          `Watch it: rotator status${clientId === undefined ? '' : ` ${clientId}`}\n`,
      );
    }
    return ExitCode.ok;
  });
}

/** Reads the one leaked value from stdin, as a Secret from the first byte on. */
async function readLeakedValue(io: CliIo): Promise<Secret> {
  if (io.stdin === undefined) throw usageError('--secret-stdin needs a standard input');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    size += buffer.length;
    if (size > MAX_STDIN_BYTES) throw usageError(`--secret-stdin reads at most ${MAX_STDIN_BYTES} bytes`);
    chunks.push(buffer);
  }
  const value = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (value.trim() === '') throw usageError('--secret-stdin read nothing: pipe the leaked value in');
  if (value.includes('\n')) throw usageError('--secret-stdin takes one value: the input has several lines');
  return new Secret(value);
}
