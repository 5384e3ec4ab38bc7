import { Command, CommanderError } from 'commander';
import { registerCancelCommand } from './commands/cancel.js';
import { registerConsumerCheckCommand } from './commands/consumerCheck.js';
import { registerEmulatorCommand } from './commands/emulator.js';
import { registerHistoryCommand } from './commands/history.js';
import { registerLeakCommands } from './commands/leak.js';
import { registerRegisterCommand } from './commands/register.js';
import { registerRepairCommand } from './commands/repair.js';
import { registerRotateCommands } from './commands/rotate.js';
import { registerStatusCommand } from './commands/status.js';
import type { CommandContext } from './context.js';
import { CliError, ExitCode } from './errors.js';
import { type CliIo, processIo } from './io.js';
import { withAws } from './resources.js';
import { stackEnv } from './stack.js';
import { forTerminal } from './terminalText.js';

/** The longest error line: long enough for every problem of a `register` at once. */
const ERROR_LINE_LENGTH = 1000;

/**
 * Runs the `rotator` CLI with `argv` (without the node and script paths) and returns the exit
 * code. Never calls `process.exit`, so it can run in-process in tests.
 */
export async function exec(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
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

  const program = new Command('rotator')
    .description(
      'Rotate Stytch M2M client secrets without downtime.\n\n' +
        'Commands reach AWS through the standard SDK configuration (AWS_ENDPOINT_URL points them at ' +
        'the sandbox) and never print a secret (the emulator prints its own made-up credentials; ' +
        '`npm start -- --keep` prints the sandbox webhook secret).',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  program
    .option(
      '--stack <name>',
      "read the deployment's resources from this CloudFormation stack's outputs (default: $ROTATOR_STACK_NAME); " +
        'a variable or flag that is set wins',
    )
    .hook('preAction', async () => {
      const stackName = (program.opts<{ stack?: string }>().stack ?? io.env.ROTATOR_STACK_NAME)?.trim();
      if (stackName === undefined || stackName === '') return;
      current = {
        ...io,
        env: { ...(await withAws(io, (aws) => stackEnv(aws, stackName))), ...definedOnly(io.env) },
      };
    });

  registerEmulatorCommand(program, context);
  registerConsumerCheckCommand(program, context);
  registerRotateCommands(program, context);
  registerStatusCommand(program, context);
  registerHistoryCommand(program, context);
  registerCancelCommand(program, context);
  registerLeakCommands(program, context);
  registerRegisterCommand(program, context);
  registerRepairCommand(program, context);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
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
  if (error instanceof CliError && error.source === 'user') {
    // Messages quote what they are about (a flag's value, an AWS or Stytch message): one escaped line.
    io.stderr.write(`rotator: ${forTerminal(error.message, ERROR_LINE_LENGTH)}\n`);
    return ExitCode.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`rotator: internal error: ${forTerminal(message, ERROR_LINE_LENGTH)}\n`);
  if (io.env.ROTATOR_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return ExitCode.failed;
}
