import { RotatorError } from '#core/errors.js';

/** Where a CLI failure comes from: the user's input or environment, or a defect of ours. */
export type CliErrorSource = 'user' | 'internal';

/**
 * An error the CLI reports as one line. `user` errors (bad flags, unreachable endpoints, missing
 * resources) exit with 2 and print only the message; `internal` ones exit with 1 and add the stack
 * when `ROTATOR_DEBUG` is set.
 */
export class CliError extends RotatorError {
  /** A stable, machine-readable code, e.g. `usage`, `port_in_use`. */
  public readonly code: string;
  public readonly source: CliErrorSource;

  public constructor(
    message: string,
    options: ErrorOptions & { readonly code: string; readonly source?: CliErrorSource },
  ) {
    super(message, options);
    this.name = 'CliError';
    this.code = options.code;
    this.source = options.source ?? 'user';
  }
}

/** Exit codes shared by every command. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
} as const;
