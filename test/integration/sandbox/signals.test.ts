import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `node --import tsx sandbox/start.ts` stopped by a signal in the middle of its run: it stops at
 * once (it does not finish the step in progress), says so in one line on stderr, exits 128 + the
 * signal's number, and leaves nothing running. (npmStart.test.ts stops `npm start -- --keep`.)
 */

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface Run {
  readonly child: ChildProcess;
  output: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function start(): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/start.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const run: Run = {
    child,
    output: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    run.output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    run.output += chunk;
    run.stderr += chunk;
  });
  return run;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 110_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

const children = (pid: number): string =>
  spawnSync('pgrep', ['-P', String(pid)])
    .stdout.toString()
    .trim();

describe('sandbox/start.ts and a signal', () => {
  it.each([
    ['SIGINT', 130, /sandbox gateway \(the one AWS endpoint\) on (http:\/\/127\.0\.0\.1:\d+)/],
    ['SIGTERM', 143, /AWS emulator \(moto_server\) on (http:\/\/127\.0\.0\.1:\d+)/],
  ] as const)(
    '%s stops it at once: one line, exit %i, no port open, no process left',
    async (signal, code, seen) => {
      // Prepare: SIGINT once the gateway is up (mid-start); SIGTERM right after moto answers (the
      // Stytch emulator starting, the stack being synthesized).
      const run = start();
      await until(() => seen.test(run.output) || run.child.exitCode !== null, String(seen));
      const motoEndpoint =
        /AWS emulator \(moto_server\) on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.output)?.[1] ?? '';
      const lastEndpoint = seen.exec(run.output)?.[1] ?? '';
      expect(motoEndpoint).not.toBe('');
      const pid = run.child.pid ?? 0;

      // Act
      run.child.kill(signal);

      // Assess
      expect(await run.exited).toBe(code);
      expect(run.stderr.trim().split('\n').at(-1)).toBe(
        `npm start: stopped by ${signal}; everything it started (moto_server, the emulators, the gateway, the webhook) is stopped`,
      );
      expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
      expect(children(pid)).toBe('');
      expect(
        spawnSync('pgrep', ['-f', `moto_server -H 127.0.0.1 -p ${new URL(motoEndpoint).port}$`])
          .stdout.toString()
          .trim(),
      ).toBe('');
      expect(await answers(`${motoEndpoint}/moto-api/`)).toBe(false);
      expect(await answers(lastEndpoint)).toBe(false);
    },
    120_000,
  );
});
