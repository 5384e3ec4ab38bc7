import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { delimiter } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** A running moto_server (Python moto: every AWS service on one loopback port). */
export interface MotoProcess {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Terminates the server and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startMotoServer}. */
export interface MotoServerOptions {
  /**
   * The executable to run.
   * @default 'moto_server' (found on PATH)
   */
  readonly command?: string;
  /**
   * The port to listen on.
   * @default - a free port
   */
  readonly port?: number;
  /**
   * How long to wait for the server to answer.
   * @default 30_000
   */
  readonly readyTimeoutMs?: number;
  /**
   * Aborting it while the server starts kills the server at once and rejects with the signal's
   * reason (npm start's SIGINT/SIGTERM: nothing may be left running).
   */
  readonly signal?: AbortSignal;
}

/**
 * The folder of the sandbox's corrections to moto (a `sitecustomize.py` Python loads at start when
 * the folder is on PYTHONPATH): moto answers ListSecretVersionIds with the time of the request as
 * every version's CreatedDate, AWS with the version's creation time (see that file).
 */
export const MOTO_PATCHES_DIR = fileURLToPath(new URL('./world/moto-patches/', import.meta.url));

/**
 * How long a stopping moto_server without the patches' watchdog gets after SIGTERM before SIGKILL:
 * SIGTERM takes it 2-3 s on a busy 2-core machine (Python's teardown of moto's modules), and moto
 * holds nothing that needs that teardown (its state is in memory), so a short grace is enough.
 */
export const MOTO_STOP_GRACE_MS = 300;

/**
 * Starts `moto_server -H 127.0.0.1 -p <free port>` and resolves once it answers HTTP.
 * @throws {Error} naming the command when moto_server is not installed or never answers
 */
export async function startMotoServer(options: MotoServerOptions = {}): Promise<MotoProcess> {
  const command = options.command ?? 'moto_server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;

  const pythonPath = [MOTO_PATCHES_DIR, process.env.PYTHONPATH].filter(Boolean).join(delimiter);
  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    // stdin stays open while we want moto: the patches' watchdog exits moto when it closes, which
    // it also does when this process dies without stopping moto (SIGKILL, e.g. by tsx's CLI).
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, PYTHONPATH: pythonPath, SANDBOX_MOTO_EXIT_WITH_STDIN: '1' },
  });
  // Not a reason to keep this process alive, nor an error when moto has gone.
  child.stdin?.on('error', () => undefined);
  // Keep the tail of stderr for a useful message if the server never comes up.
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-2000);
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('exit', (code) => resolve({ code }));
  });

  const stop = once(() => kill(child, exited));
  const { signal } = options;
  const onAbort = (): void => void stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await untilReady({
      command,
      endpoint,
      readyTimeoutMs,
      exited,
      stop,
      stderrTail: () => stderrTail,
      signal,
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return { endpoint, stop };
}

/** Waits until the server answers; rejects when it exits, times out, or `signal` aborts (it is then stopped). */
async function untilReady(server: {
  readonly command: string;
  readonly endpoint: string;
  readonly readyTimeoutMs: number;
  readonly exited: Promise<{ code: number | null; error?: Error }>;
  readonly stop: () => Promise<void>;
  readonly stderrTail: () => string;
  readonly signal: AbortSignal | undefined;
}): Promise<void> {
  const { command, endpoint, readyTimeoutMs, exited, stop, signal } = server;
  const deadline = Date.now() + readyTimeoutMs;
  let ready = false;
  // A function, not a property read: the signal aborts between awaits (narrowing would not see it).
  const aborted = (): boolean => signal?.aborted === true;
  while (!ready) {
    if (aborted()) {
      await stop();
      throw signal?.reason;
    }
    const early = await Promise.race([exited, sleep(100).then(() => null)]);
    // Killed because of the signal: say so, not "exited before answering".
    if (early !== null && aborted()) throw signal?.reason;
    if (early !== null) {
      const { code, error } = early;
      if (error !== undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          `${command} was not found: install moto 5 with its server extra (pip install 'moto[server]>=5,<6')`,
        );
      }
      throw new Error(
        `${command} exited before answering (exit code ${code ?? 'none'}${error ? `, ${error.message}` : ''}): ${server.stderrTail()}`,
      );
    }
    ready = await answers(endpoint);
    if (!ready && Date.now() > deadline) {
      await stop();
      throw new Error(
        `${command} did not answer on ${endpoint} within ${readyTimeoutMs} ms: ${server.stderrTail()}`,
      );
    }
  }
}

/** A port that was free a moment ago: bind port 0, read what the OS chose, release it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    // moto's dashboard answers any GET; any HTTP answer at all means the server is up.
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops moto: closing its stdin has the patches' watchdog exit it at once; a moto_server that did
 * not load them gets SIGTERM, then SIGKILL if it is still there {@link MOTO_STOP_GRACE_MS} later.
 * (Not SIGTERM first: Python's teardown, once begun, no longer runs the watchdog's thread.)
 */
async function kill(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin?.end();
  if (await exitsWithin(exited, 150)) return;
  child.kill('SIGTERM');
  if (await exitsWithin(exited, MOTO_STOP_GRACE_MS)) return;
  child.kill('SIGKILL');
  await exited;
}

/** Whether `exited` settles within `ms`; no timer outlives the answer. */
async function exitsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([exited.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => {
    running ??= fn();
    return running;
  };
}
