import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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
}

/**
 * Starts `moto_server -H 127.0.0.1 -p <free port>` and resolves once it answers HTTP.
 * @throws {Error} naming the command when moto_server is not installed or never answers
 */
export async function startMotoServer(options: MotoServerOptions = {}): Promise<MotoProcess> {
  const command = options.command ?? 'moto_server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;

  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
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

  const deadline = Date.now() + readyTimeoutMs;
  let ready = false;
  while (!ready) {
    const early = await Promise.race([exited, sleep(100).then(() => null)]);
    if (early !== null) {
      const { code, error } = early;
      if (error !== undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          `${command} was not found: install moto 5 with its server extra (pip install 'moto[server]>=5,<6')`,
        );
      }
      throw new Error(
        `${command} exited before answering (exit code ${code ?? 'none'}${error ? `, ${error.message}` : ''}): ${stderrTail}`,
      );
    }
    ready = await answers(endpoint);
    if (!ready && Date.now() > deadline) {
      await stop();
      throw new Error(`${command} did not answer on ${endpoint} within ${readyTimeoutMs} ms: ${stderrTail}`);
    }
  }

  return { endpoint, stop };
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

async function kill(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => {
    running ??= fn();
    return running;
  };
}
