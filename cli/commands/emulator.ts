import type { Command } from 'commander';
import { StytchEmulator, StytchEmulatorError } from '#sandbox/stytch-emulator/index.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { untilAborted } from '../io.js';

/** Raw flag values as commander hands them over (strings; validated here, not by commander). */
interface EmulatorFlags {
  readonly port?: string;
  readonly projectId?: string;
  readonly projectSecret?: string;
  readonly seed?: string;
  readonly json?: boolean;
}

/** Validated settings of one `rotator emulator` run. */
interface EmulatorSettings {
  readonly port: number;
  readonly projectId?: string;
  readonly projectSecret?: string;
  readonly seed: number;
  readonly json: boolean;
}

const PROJECT_ID_PATTERN = /^project-(test|live)-[A-Za-z0-9-]{1,100}$/;

/**
 * Registers `rotator emulator`: runs the Stytch emulator on loopback until SIGINT/SIGTERM (the
 * context's abort signal), printing one line that says where it listens.
 */
export function registerEmulatorCommand(program: Command, context: CommandContext): void {
  program
    .command('emulator')
    .summary('run the Stytch emulator on loopback until interrupted')
    .description(
      'Run the Stytch emulator on loopback until SIGINT or SIGTERM: M2M and Connected Apps clients, secret ' +
        'rotation, the client-credentials token endpoint and the JWKS, plus a fault-injection admin API under ' +
        '/__emulator. Prints one line saying where it listens. The project id and secret are emulator ' +
        'credentials, not real ones. Point an official Stytch SDK at it with env = "<url>/".',
    )
    .option('--port <port>', 'port on 127.0.0.1 (default: 0, a free port)')
    .option(
      '--project-id <id>',
      'project id, project-test-<id> or project-live-<id> (default: a fresh project-test-<uuid>)',
    )
    .option('--project-secret <secret>', 'project secret for Basic auth (default: a fresh random secret)')
    .option('--seed <n>', 'seed of the PRNG behind random faults (default: 1)')
    .option('--json', 'print the listening line as JSON: {"url","projectId","projectSecret"}')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ rotator emulator\n' +
        '  $ rotator emulator --port 8787 --project-id project-test-local --project-secret s3cret\n' +
        '  $ rotator emulator --json --seed 42   # machine-readable line for scripts\n' +
        '\nAdmin API (Basic project_id:secret): GET /__emulator/health, GET|DELETE /__emulator/faults,\n' +
        'GET|DELETE /__emulator/requests, POST /__emulator/signing-keys/rotate; see\n' +
        'sandbox/stytch-emulator/README.md.',
    )
    .action(async (flags: EmulatorFlags) => {
      const settings = parseFlags(flags);
      const emulator = await startEmulator(settings, context);
      try {
        context.io.stdout.write(`${listeningLine(emulator, settings.json)}\n`);
        await untilAborted(context.io.signal);
      } finally {
        await emulator.stop();
      }
      context.setExitCode(ExitCode.ok);
    });
}

/** Validates every flag, reporting the first bad one as a user error (exit 2, one line). */
function parseFlags(flags: EmulatorFlags): EmulatorSettings {
  const port = parseInteger('--port', flags.port ?? '0', 0, 65_535);
  const seed = parseInteger('--seed', flags.seed ?? '1', 0, 0xffff_ffff);
  if (flags.projectId !== undefined && !PROJECT_ID_PATTERN.test(flags.projectId)) {
    throw usage(
      '--project-id must look like project-test-<id> or project-live-<id> (letters, digits, dashes)',
    );
  }
  if (flags.projectSecret !== undefined && !/^[\x20-\x7e]{1,200}$/.test(flags.projectSecret)) {
    throw usage('--project-secret must be 1 to 200 printable ASCII characters');
  }
  return {
    port,
    seed,
    json: flags.json === true,
    ...(flags.projectId === undefined ? {} : { projectId: flags.projectId }),
    ...(flags.projectSecret === undefined ? {} : { projectSecret: flags.projectSecret }),
  };
}

function parseInteger(flag: string, raw: string, min: number, max: number): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw usage(`${flag} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

async function startEmulator(settings: EmulatorSettings, context: CommandContext): Promise<StytchEmulator> {
  try {
    return await StytchEmulator.start({
      port: settings.port,
      seed: settings.seed,
      ...(settings.projectId === undefined ? {} : { projectId: settings.projectId }),
      ...(settings.projectSecret === undefined ? {} : { projectSecret: settings.projectSecret }),
      logger: (line) => context.io.stderr.write(`${line}\n`),
    });
  } catch (error) {
    // Flags were validated already; what remains is the environment (a port in use), the user's to fix.
    if (!(error instanceof StytchEmulatorError)) throw error;
    const hint = error.code === 'port_in_use' ? '; pick another with --port, or --port 0 for a free one' : '';
    throw new CliError(`${error.message}${hint}`, { code: error.code, source: 'user', cause: error });
  }
}

/** The one line printed at start. The credentials are the emulator's own, not real secrets. */
function listeningLine(emulator: StytchEmulator, json: boolean): string {
  if (json) {
    return JSON.stringify({
      url: emulator.url,
      projectId: emulator.projectId,
      projectSecret: emulator.projectSecret,
    });
  }
  return (
    `Stytch emulator listening on ${emulator.url} (project_id ${emulator.projectId}, ` +
    `secret ${emulator.projectSecret}); Ctrl+C to stop`
  );
}

function usage(message: string): CliError {
  return new CliError(message, { code: 'usage', source: 'user' });
}
