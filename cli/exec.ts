import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { CommandContext } from './context.js';
import { CliError, ExitCode, setupError } from './errors.js';
import { type CliIo, processIo } from './io.js';
import { forTerminal } from './terminalText.js';

/** The longest error line: long enough for every problem of a `register` at once. */
const ERROR_LINE_LENGTH = 1000;

/** Registers a command module's commands on the program (each module exports one such function). */
type Register = (program: Command, context: CommandContext) => void;

/** One top-level command as `rotator --help` lists it. */
export interface IndexedCommand {
  readonly name: string;
  /** The listing's left column, as commander prints it (`rotate [options] <clientId>`). */
  readonly term: string;
  readonly summary: string;
}

/** A command module: the commands it registers, and how to load it. */
export interface CommandModule {
  readonly commands: readonly IndexedCommand[];
  readonly load: () => Promise<Register>;
}

/**
 * Every command module, loaded only when one of its commands runs: `--help` and `--version` then
 * load commander alone, not the AWS SDK or undici (2.5x faster; docs/benchmarks.md). The
 * listing repeats each command's term and summary; test/unit/cli/exec.test.ts holds it equal to
 * what the modules register.
 */
export const COMMAND_MODULES: readonly CommandModule[] = [
  {
    commands: [
      {
        name: 'emulator',
        term: 'emulator [options]',
        summary: 'run the Stytch emulator on loopback until interrupted',
      },
    ],
    load: async () => (await import('./commands/emulator.js')).registerEmulatorCommand,
  },
  {
    commands: [
      {
        name: 'consumer',
        term: 'consumer',
        summary: 'check and report health of a managed client secret, as a consumer',
      },
    ],
    load: async () => (await import('./commands/consumerCheck.js')).registerConsumerCheckCommand,
  },
  {
    commands: [
      {
        name: 'rotate',
        term: 'rotate [options] [clientId]',
        summary: 'rotate a managed client, or a fleet of them, now (trigger manual)',
      },
      {
        name: 'emergency',
        term: 'emergency [options] [clientId]',
        summary: 'rotate a leaked secret, or a fleet of them, now (trigger leak, reason required)',
      },
    ],
    load: async () => (await import('./commands/rotate.js')).registerRotateCommands,
  },
  {
    commands: [
      {
        name: 'status',
        term: 'status [options] [clientId]',
        summary: 'show the managed clients: idle or rotating, versions, last four, age',
      },
    ],
    load: async () => (await import('./commands/status.js')).registerStatusCommand,
  },
  {
    commands: [
      {
        name: 'history',
        term: 'history [options] <clientId>',
        summary: "show a client's rotations and leak reports from the ledger, newest first",
      },
    ],
    load: async () => (await import('./commands/history.js')).registerHistoryCommand,
  },
  {
    commands: [
      {
        name: 'cancel',
        term: 'cancel [options] <clientId>',
        summary: "cancel a client's rotation while it waits for consumers",
      },
    ],
    load: async () => (await import('./commands/cancel.js')).registerCancelCommand,
  },
  {
    commands: [
      {
        name: 'leak',
        term: 'leak',
        summary: 'report a leaked secret (starts a leak rotation, or preempts the one in progress)',
      },
    ],
    load: async () => (await import('./commands/leak.js')).registerLeakCommands,
  },
  {
    commands: [
      {
        name: 'revoke-tokens',
        term: 'revoke-tokens [options] <clientId>',
        summary: "make resource servers refuse a client's access tokens issued before now (or --before)",
      },
    ],
    load: async () => (await import('./commands/revokeTokens.js')).registerRevokeTokensCommand,
  },
  {
    commands: [
      {
        name: 'apply',
        term: 'apply [options]',
        summary:
          'make the managed clients match a clients file (plan, then create / adopt / change / remove)',
      },
    ],
    load: async () => (await import('./commands/apply.js')).registerApplyCommand,
  },
  {
    commands: [
      {
        name: 'register',
        term: 'register [options]',
        summary: 'create an M2M client at Stytch and put it under rotation (idempotent by --name)',
      },
    ],
    load: async () => (await import('./commands/register.js')).registerRegisterCommand,
  },
  {
    commands: [
      {
        name: 'repair',
        term: 'repair [options] <clientId>',
        summary: "check a client's Stytch and Secrets Manager state; --apply makes it consistent",
      },
    ],
    load: async () => (await import('./commands/repair.js')).registerRepairCommand,
  },
  {
    commands: [
      { name: 'config', term: 'config', summary: 'check a deployment config file before `cdk deploy`' },
    ],
    load: async () => (await import('./commands/config.js')).registerConfigCommand,
  },
];

// Written into the built CLI by scripts/build-cli.mjs; undefined when run from source.
declare const ROTATOR_VERSION: string | undefined;

/** The package version: fixed at build time in dist/cli/rotator.mjs, read from package.json from source. */
export function rotatorVersion(): string {
  if (typeof ROTATOR_VERSION === 'string') return ROTATOR_VERSION;
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/**
 * Runs the `rotator` CLI with `argv` (without the node and script paths) and returns the exit
 * code. Never calls `process.exit`, so it can run in-process in tests.
 *
 * Two passes over `argv`: the first, with every command a stand-in, lets commander itself answer
 * `--help`, `--version` and usage errors, or name the command to run; the second loads only that
 * command's module and runs it.
 */
export async function exec(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    const chosen = await chooseModule(argv, io);
    if (chosen === undefined) return ExitCode.ok;
    return await runModule(chosen, argv, io);
  } catch (error) {
    return reportError(error, io);
  }
}

/** The program without its commands: description, global options, output and `--version`. */
function baseProgram(io: CliIo): Command {
  return new Command('rotator')
    .description(
      'Rotate Stytch M2M client secrets without downtime.\n\n' +
        'Commands reach AWS through the standard SDK configuration (AWS_ENDPOINT_URL points them at ' +
        'the sandbox) and never print a secret (the emulator prints its own made-up credentials; ' +
        '`npm start -- --keep` prints the sandbox webhook secret).',
    )
    .version(rotatorVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .option(
      '--stack <name>',
      "read the deployment's resources from this CloudFormation stack's outputs (default: $ROTATOR_STACK_NAME); " +
        'a variable or flag that is set wins',
    );
}

/**
 * The first pass: every command is a stand-in that takes any argument and option, so commander
 * prints the top-level help, the version and its usage errors here, and otherwise dispatches to the
 * stand-in of the command named (`rotator help status` included), which is the module to load.
 */
async function chooseModule(argv: readonly string[], io: CliIo): Promise<CommandModule | undefined> {
  const program = baseProgram(io);
  const terms = new Map<Command, string>();
  let chosen: CommandModule | undefined;
  for (const module of COMMAND_MODULES) {
    for (const indexed of module.commands) {
      const standIn = program
        .command(indexed.name)
        .summary(indexed.summary)
        .helpOption(false)
        .allowUnknownOption()
        .allowExcessArguments()
        .action(() => {
          chosen = module;
        });
      terms.set(standIn, indexed.term);
    }
  }
  // Commander's own `help <command>` would print the stand-in's help: a stand-in replaces it too.
  program.helpCommand(false);
  const help = program
    .command('help')
    .summary('display help for command')
    .argument('[command]')
    .allowExcessArguments()
    .action((name: string | undefined) => {
      if (name === undefined) return program.help();
      chosen = COMMAND_MODULES.find((module) => module.commands.some((indexed) => indexed.name === name));
      if (chosen === undefined) program.error(`error: unknown command '${forTerminal(name, 100)}'`);
    });
  terms.set(help, 'help [command]');
  program.configureHelp({
    subcommandTerm: (command) => terms.get(command) ?? command.name(),
  });
  await program.parseAsync([...argv], { from: 'user' });
  return chosen;
}

/** The second pass: the chosen module's commands, for real, with `--stack` resolved before they run. */
async function runModule(module: CommandModule, argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.ok;
  // `--stack` fills the resource variables from the stack's outputs before the command runs, so
  // the context hands out the io current at that moment.
  let current = io;
  const context: CommandContext = {
    get io() {
      return current;
    },
    setExitCode: (code) => (exitCode = code),
  };
  const program = baseProgram(io).hook('preAction', async () => {
    const stackName = (program.opts<{ stack?: string }>().stack ?? io.env.ROTATOR_STACK_NAME)?.trim();
    if (stackName === undefined || stackName === '') return;
    // Loaded here, not at the top: they bring the AWS SDK, which `--help` does without.
    const [{ withAws }, { stackEnv }] = await Promise.all([import('./resources.js'), import('./stack.js')]);
    current = {
      ...io,
      env: { ...(await withAws(io, (aws) => stackEnv(aws, stackName))), ...definedOnly(io.env) },
    };
  });
  (await module.load())(program, context);
  await program.parseAsync([...argv], { from: 'user' });
  return exitCode;
}

/** The variables that are set to something (an empty one does not hide a stack output). */
function definedOnly(env: CliIo['env']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
    ),
  );
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message; --help and --version exit 0.
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  // A setup problem (region, credentials, endpoint) from a command that reached AWS outside `withAws`.
  const known = error instanceof CliError ? error : (setupError(error, io) ?? error);
  if (known instanceof CliError && known.source === 'user') {
    // Messages quote what they are about (a flag's value, an AWS or Stytch message): one escaped line.
    io.stderr.write(`rotator: ${forTerminal(known.message, ERROR_LINE_LENGTH)}\n`);
    return ExitCode.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`rotator: internal error: ${forTerminal(message, ERROR_LINE_LENGTH)}\n`);
  if (io.env.ROTATOR_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return ExitCode.failed;
}
