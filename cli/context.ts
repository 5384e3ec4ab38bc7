import type { CliIo } from './io.js';

/** Context handed to each command's registration function (built by `exec`, ./exec.ts). */
export interface CommandContext {
  readonly io: CliIo;
  /** Records the exit code the command wants; `exec` returns it. */
  setExitCode(code: number): void;
}
