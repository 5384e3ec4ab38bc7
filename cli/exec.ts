import { Command, CommanderError } from 'commander';
import { registerCancelCommand } from './commands/cancel.js';
import { registerConsumerCheckCommand } from './commands/consumerCheck.js';
import { registerEmulatorCommand } from './commands/emulator.js';
import { registerHistoryCommand } from './commands/history.js';
import { registerLeakCommands } from './commands/leak.js';
import { registerRegisterCommand } from './commands/register.js';
import { registerRotateCommands } from './commands/rotate.js';
import { registerStatusCommand } from './commands/status.js';
import { CliError, ExitCode } from './errors.js';
import { type CliIo, processIo } from './io.js';

/** Context handed to each command's registration function. */
export interface CommandContext {
  readonly io: CliIo;
  /** Records the exit code the command wants; `exec` returns it. */
  setExitCode(code: number): void;
}

/**
 * Runs the `rotator` CLI with `argv` (without the node and script paths) and returns the exit
 * code. Never calls `process.exit`, so it can run in-process in tests.
 */
export async function exec(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const context: CommandContext = { io, setExitCode: (code) => (exitCode = code) };

  const program = new Command('rotator')
    .description(
      'Rotate Stytch M2M client secrets without downtime.\n\n' +
        'Commands reach AWS through the standard SDK configuration (AWS_ENDPOINT_URL points them at\n' +
        'the sandbox) and never print a secret (the emulator prints its own made-up credentials).',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  registerEmulatorCommand(program, context);
  registerConsumerCheckCommand(program, context);
  registerRotateCommands(program, context);
  registerStatusCommand(program, context);
  registerHistoryCommand(program, context);
  registerCancelCommand(program, context);
  registerLeakCommands(program, context);
  registerRegisterCommand(program, context);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message; --help and --version exit 0.
    return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (error instanceof CliError && error.source === 'user') {
    io.stderr.write(`rotator: ${error.message}\n`);
    return ExitCode.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`rotator: internal error: ${message}\n`);
  if (io.env.ROTATOR_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return ExitCode.failed;
}
