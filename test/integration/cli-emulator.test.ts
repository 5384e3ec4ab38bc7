import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exec } from '#cli/exec.js';
import type { CliIo, TextSink } from '#cli/io.js';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A TextSink that buffers and lets a test wait for the first complete line. */
class BufferSink implements TextSink {
  public text = '';
  readonly #waiters: (() => void)[] = [];

  public write(text: string): boolean {
    this.text += text;
    if (this.text.includes('\n')) for (const wake of this.#waiters.splice(0)) wake();
    return true;
  }

  public async firstLine(): Promise<string> {
    if (!this.text.includes('\n')) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.text.split('\n')[0] ?? '';
  }

  public lines(): string[] {
    return this.text.split('\n').filter((line) => line !== '');
  }
}

function fakeIo(): { io: CliIo; stdout: BufferSink; stderr: BufferSink; controller: AbortController } {
  const stdout = new BufferSink();
  const stderr = new BufferSink();
  const controller = new AbortController();
  return { io: { stdout, stderr, env: {}, signal: controller.signal }, stdout, stderr, controller };
}

interface Listening {
  readonly url: string;
  readonly projectId: string;
  readonly projectSecret: string;
}

async function health(listening: Listening): Promise<number> {
  const auth = Buffer.from(`${listening.projectId}:${listening.projectSecret}`).toString('base64');
  const response = await fetch(`${listening.url}/__emulator/health`, {
    headers: { authorization: `Basic ${auth}` },
  });
  await response.arrayBuffer();
  return response.status;
}

describe('CLI: rotator emulator', () => {
  it('prints one JSON line, serves until aborted, then stops and exits 0', async () => {
    // Prepare
    const { io, stdout, stderr, controller } = fakeIo();

    // Act
    const exitCode = exec(['emulator', '--json'], io);
    const listening = JSON.parse(await stdout.firstLine()) as Listening;
    const status = await health(listening);
    controller.abort();

    // Assess
    expect(await exitCode).toBe(0);
    expect(Object.keys(listening)).toEqual(['url', 'projectId', 'projectSecret']);
    expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listening.projectId).toMatch(/^project-test-/);
    expect(status).toBe(200);
    expect(stdout.lines()).toHaveLength(1);
    expect(stderr.text).toBe('');
    await expect(fetch(`${listening.url}/__emulator/health`)).rejects.toThrow();
  });

  it('uses the given project id, secret and port, and names them in the human line', async () => {
    // Prepare
    const probe = await StytchEmulator.start();
    const port = Number(new URL(probe.url).port);
    await probe.stop();
    const { io, stdout, controller } = fakeIo();

    // Act
    const exitCode = exec(
      [
        'emulator',
        '--port',
        String(port),
        '--project-id',
        'project-test-cli',
        '--project-secret',
        'cli-secret',
        '--seed',
        '7',
      ],
      io,
    );
    const line = await stdout.firstLine();
    const status = await health({
      url: `http://127.0.0.1:${port}`,
      projectId: 'project-test-cli',
      projectSecret: 'cli-secret',
    });
    controller.abort();

    // Assess
    expect(await exitCode).toBe(0);
    expect(line).toContain(`http://127.0.0.1:${port}`);
    expect(line).toContain('project-test-cli');
    expect(line).toContain('cli-secret');
    expect(status).toBe(200);
  });

  it.each([
    [['--port', 'abc'], /--port must be an integer/],
    [['--port', '70000'], /--port must be an integer/],
    [['--seed', '-1'], /--seed must be an integer/],
    [['--project-id', 'my-project'], /--project-id must look like project-test-/],
  ])('exits 2 with one line for %j', async (flags, message) => {
    // Prepare
    const { io, stdout, stderr } = fakeIo();

    // Act
    const exitCode = await exec(['emulator', ...flags], io);

    // Assess
    expect(exitCode).toBe(2);
    expect(stderr.lines()).toHaveLength(1);
    expect(stderr.text).toMatch(message);
    expect(stdout.text).toBe('');
  });

  it('exits 2 with one clear line when the port is in use', async () => {
    // Prepare
    const occupant = await StytchEmulator.start();
    const port = new URL(occupant.url).port;
    const { io, stderr } = fakeIo();

    // Act
    const exitCode = await exec(['emulator', '--port', port], io).finally(() => occupant.stop());

    // Assess
    expect(exitCode).toBe(2);
    expect(stderr.lines()).toEqual([expect.stringMatching(new RegExp(`port ${port} .*already in use`))]);
  });

  it('runs as a real process and exits 0 on SIGTERM', async () => {
    // Prepare
    const child = spawn(process.execPath, ['bin/rotator.mjs', 'emulator', '--json'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = once(child, 'exit');

    // Act
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0] ?? '');
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
    });
    const listening = JSON.parse(line) as Listening;
    const status = await health(listening);
    child.kill('SIGTERM');
    const [code, signal] = await exited;

    // Assess
    expect(status).toBe(200);
    expect(code).toBe(0);
    expect(signal).toBeNull();
    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toHaveLength(1);
  });
});
