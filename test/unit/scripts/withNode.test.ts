import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * scripts/with-node.mjs as npm start/test/bench and .ci/run use it, run by a Node older than 22:
 * the machine's own when it has one (CI's has Node 20), otherwise this Node made to report 20.1.0.
 * The registry is a stub npm, and "Node 22" is this Node (>= 22) in a temporary directory.
 */

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const entry = join(repoRoot, 'scripts/with-node.mjs');
const fakeOldNode = fileURLToPath(new URL('../../support/fakeOldNode.mjs', import.meta.url));

/** A `node` on PATH older than 22, or this one preloaded to report an old version. */
function olderNode(): { command: string; args: string[]; version: string } {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'node');
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    if (Number(version.split('.')[0]) < 22) return { command: candidate, args: [], version };
  }
  return { command: process.execPath, args: ['--import', fakeOldNode], version: '20.1.0' };
}
const old = olderNode();

/** A directory laid out as `npm install --prefix <dir> node@22` leaves it, its node being this one. */
function fakeInstall(dir: string): void {
  mkdirSync(join(dir, 'node_modules', 'node'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(
    join(dir, 'node_modules', 'node', 'package.json'),
    JSON.stringify({ version: process.versions.node }),
  );
  symlinkSync(process.execPath, join(dir, 'node_modules', '.bin', 'node'));
}

/** A stub npm (named like npm's own CLI, so the entry runs it as npm) answering `install --prefix`. */
function stubNpm(dir: string, behaviour: 'installs' | 'offline'): { cli: string; calls: string } {
  const cli = join(dir, 'npm-cli.js');
  const calls = join(dir, 'calls');
  const body =
    behaviour === 'installs'
      ? `const prefix = process.argv[process.argv.indexOf('--prefix') + 1];
         mkdirSync(join(prefix, 'node_modules', 'node'), { recursive: true });
         mkdirSync(join(prefix, 'node_modules', '.bin'), { recursive: true });
         writeFileSync(join(prefix, 'node_modules', 'node', 'package.json'), '{"version":"${process.versions.node}"}');
         symlinkSync(${JSON.stringify(process.execPath)}, join(prefix, 'node_modules', '.bin', 'node'));`
      : `process.stderr.write('npm error code ENOTFOUND\\nnpm error network request failed\\n');
         process.exit(1);`;
  writeFileSync(
    cli,
    `const { mkdirSync, writeFileSync, symlinkSync, appendFileSync } = require('fs');
     const { join } = require('path');
     appendFileSync(${JSON.stringify(calls)}, process.argv.slice(2).join(' ') + '\\n');
     ${body}`,
  );
  return { cli, calls };
}

function runEntry(args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(old.command, [...old.args, entry, ...args], { cwd: repoRoot, encoding: 'utf8', env });
}

describe(`scripts/with-node.mjs under Node ${old.version}`, () => {
  it('runs the command under the Node already brought in, saying nothing', () => {
    // Prepare
    const nodeDir = join(mkdtempSync(join(tmpdir(), 'with-node-')), 'node');
    fakeInstall(nodeDir);

    // Act
    const result = runEntry(['node', '-p', 'process.version'], { ...process.env, ROTATOR_NODE_DIR: nodeDir });

    // Assess
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${process.version}\n`);
    expect(result.status).toBe(0);
  });

  it('brings Node in once, saying so in one line on stderr, then runs the command under it', () => {
    // Prepare
    const work = mkdtempSync(join(tmpdir(), 'with-node-'));
    const nodeDir = join(work, 'node');
    const npm = stubNpm(work, 'installs');
    const env = { ...process.env, ROTATOR_NODE_DIR: nodeDir, npm_execpath: npm.cli };

    // Act
    const first = runEntry(['node', '-p', 'process.version'], env);
    const second = runEntry(['node', '-p', 'process.version'], env);

    // Assess
    expect(first.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^stytch-m2m-rotator: Node v${old.version.replaceAll('.', '\\.')} is older than 22: installing Node 22 from the npm registry into .*node \\(once; later runs use it\\)$`,
        ),
      ),
    ]);
    expect(first.stdout).toBe(`${process.version}\n`);
    expect(first.status).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.stdout).toBe(`${process.version}\n`);
    expect(readFileSync(npm.calls, 'utf8').trim().split('\n')).toEqual([
      expect.stringMatching(/^install --no-save .*--prefix .*node\.installing-\d+ node@22$/),
    ]);
  });

  it('stops with exit 2 and a line saying what to install when the registry cannot be reached', () => {
    // Prepare
    const work = mkdtempSync(join(tmpdir(), 'with-node-'));
    const npm = stubNpm(work, 'offline');

    // Act
    const result = runEntry(['node', '-p', 'process.version'], {
      ...process.env,
      ROTATOR_NODE_DIR: join(work, 'node'),
      npm_execpath: npm.cli,
    });

    // Assess
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /could not be installed from the npm registry \(npm install: ENOTFOUND\): install Node 22 or newer/,
    );
    expect(existsSync(join(work, 'node'))).toBe(false);
  });

  it("ends with the command's exit code, or by the signal that ended it", () => {
    // Prepare
    const nodeDir = join(mkdtempSync(join(tmpdir(), 'with-node-')), 'node');
    fakeInstall(nodeDir);
    const env = { ...process.env, ROTATOR_NODE_DIR: nodeDir };

    // Act
    const exited = runEntry(['sh', '-c', 'exit 7'], env);
    const killed = runEntry(['sh', '-c', 'kill -TERM $$'], env);
    const missing = runEntry(['no-such-command-here'], env);

    // Assess
    expect(exited.status).toBe(7);
    expect(killed.signal).toBe('SIGTERM');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('stytch-m2m-rotator: cannot run no-such-command-here (ENOENT)\n');
  });

  it('passes SIGTERM sent to it on to the command, and exits when the command does', async () => {
    // Prepare
    const nodeDir = join(mkdtempSync(join(tmpdir(), 'with-node-')), 'node');
    fakeInstall(nodeDir);
    const script =
      "process.on('SIGTERM', () => { console.log('stopping on SIGTERM'); process.exit(3); });" +
      "console.log('ready'); setInterval(() => {}, 1000);";
    const child = spawn(old.command, [...old.args, entry, 'node', '-e', script], {
      cwd: repoRoot,
      env: { ...process.env, ROTATOR_NODE_DIR: nodeDir },
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('ready')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await ready;

    // Act
    child.kill('SIGTERM');

    // Assess
    expect(await exited).toBe(3);
    expect(stdout).toBe('ready\nstopping on SIGTERM\n');
  });

  it('prints the directory of that Node with --bin-dir (.ci/run puts it first on PATH)', () => {
    // Prepare
    const nodeDir = join(mkdtempSync(join(tmpdir(), 'with-node-')), 'node');
    fakeInstall(nodeDir);

    // Act
    const result = runEntry(['--bin-dir'], { ...process.env, ROTATOR_NODE_DIR: nodeDir });

    // Assess
    expect(result.stdout).toBe(`${join(nodeDir, 'node_modules', '.bin')}\n`);
    expect(result.status).toBe(0);
  });
});

describe('npm start, npm test and npm run bench on an older Node', () => {
  it('go through scripts/with-node.mjs', () => {
    const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['start', 'test', 'bench']) {
      expect(scripts[name]).toMatch(/^exec node scripts\/with-node\.mjs /);
    }
  });

  it('npm start -- --help runs the sandbox under the Node brought in', () => {
    // Prepare: `node` on PATH is the older Node; the one brought in leaves a mark when it runs.
    const work = mkdtempSync(join(tmpdir(), 'with-node-'));
    const oldBin = join(work, 'old-bin');
    mkdirSync(oldBin);
    writeFileSync(
      join(oldBin, 'node'),
      `#!/bin/sh\nexec ${[old.command, ...old.args].map((part) => `'${part}'`).join(' ')} "$@"\n`,
    );
    chmodSync(join(oldBin, 'node'), 0o755);
    const nodeDir = join(work, 'node');
    fakeInstall(nodeDir);
    const marked = join(nodeDir, 'node_modules', '.bin', 'node');
    const mark = join(work, 'ran-on-the-node-brought-in');
    rmSync(marked);
    writeFileSync(marked, `#!/bin/sh\ntouch '${mark}'\nexec '${process.execPath}' "$@"\n`);
    chmodSync(marked, 0o755);

    // Act
    const result = spawnSync('npm', ['start', '--', '--help'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${oldBin}${delimiter}${process.env.PATH ?? ''}`,
        ROTATOR_NODE_DIR: nodeDir,
      },
    });

    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm start -- \[--json\]/);
    expect(result.stderr).toBe('');
    expect(existsSync(mark)).toBe(true);
  }, 90_000);
});
