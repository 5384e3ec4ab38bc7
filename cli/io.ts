/** A place the CLI writes text to (stdout, stderr, or a buffer in tests). */
export interface TextSink {
  write(text: string): unknown;
  /** True when a person is watching: enables colours, spinners and live progress. */
  readonly isTTY?: boolean;
}

/** Everything a command touches outside itself, injected so tests run commands in-process. */
export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted when the command should stop (SIGINT/SIGTERM in the real process, the test's
   * AbortController otherwise). Long-running commands (`emulator`, `start --keep`) wait on it.
   */
  readonly signal: AbortSignal;
  /** Standard input, for commands that take a value there (`leak report --secret-stdin`). */
  readonly stdin?: AsyncIterable<string | Uint8Array>;
}

/** The real process: stdout, stderr, environment, and SIGINT/SIGTERM as an abort signal. */
export function processIo(): CliIo {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // A reader that went away (`rotator … | head`) is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      process.exit(error.code === 'EPIPE' ? Number(process.exitCode) || 0 : 1);
    });
  }
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
    stdin: process.stdin,
  };
}

/** Resolves when `signal` is aborted (at once if it already is). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
