import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES, exec } from '#cli/exec.js';
import { bufferedIo } from '../../support/cliIo.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fakeOldNode = fileURLToPath(new URL('../../support/fakeOldNode.mjs', import.meta.url));
const packageVersion = (JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string })
  .version;

describe('Function: exec', () => {
  it('prints help listing the commands and returns 0', async () => {
    // Prepare
    const io = bufferedIo();

    // Act
    const code = await exec(['--help'], io);

    // Assess
    expect(code).toBe(0);
    expect(io.stdout.text).toContain('Usage: rotator');
    expect(io.stdout.text).toContain('emulator');
  });

  it.each([['--version'], ['-V']])('%s prints the package version and returns 0', async (flag) => {
    // Prepare
    const io = bufferedIo();

    // Act
    const code = await exec([flag], io);

    // Assess
    expect(code).toBe(0);
    expect(io.stdout.text).toBe(`${packageVersion}\n`);
  });

  it('lists each command as its module registers it (the listing is kept without loading them)', async () => {
    // Prepare: every module registered for real, as before commands were loaded on demand
    const program = new Command('rotator');
    for (const module of COMMAND_MODULES)
      (await module.load())(program, { io: bufferedIo(), setExitCode: () => {} });
    const help = program.createHelp();

    // Act
    const registered = program.commands.map((command) => ({
      name: command.name(),
      term: help.subcommandTerm(command),
      summary: help.subcommandDescription(command),
    }));

    // Assess
    expect(COMMAND_MODULES.flatMap((module) => module.commands)).toEqual(registered);
  });

  it.each([
    ['help status', ['help', 'status']],
    ['status --help', ['status', '--help']],
  ])("%s prints the command's own help (its options), not the listing's stand-in", async (_label, argv) => {
    // Prepare
    const io = bufferedIo();

    // Act
    const code = await exec(argv, io);

    // Assess
    expect(code).toBe(0);
    expect(io.stdout.text).toContain('Usage: rotator status [options] [clientId]');
    expect(io.stdout.text).toContain('--json');
  });

  it('returns 2 for help of an unknown command', async () => {
    // Prepare
    const io = bufferedIo();

    // Act
    const code = await exec(['help', 'frobnicate'], io);

    // Assess
    expect(code).toBe(2);
    expect(io.stderr.text).toMatch(/unknown command 'frobnicate'/);
  });

  it('returns 2 with a usage message for an unknown command', async () => {
    // Prepare
    const io = bufferedIo();

    // Act
    const code = await exec(['frobnicate'], io);

    // Assess
    expect(code).toBe(2);
    expect(io.stderr.text).toMatch(/unknown command 'frobnicate'/);
  });
});

describe('Entry points on an old Node', () => {
  it.each([
    ['bin/rotator.mjs', ['bin/rotator.mjs', '--help']],
    ['scripts/require-node.mjs (npm test, npm start)', ['scripts/require-node.mjs']],
  ])('%s stops with one line naming the Node found and the Node needed', (_label, args) => {
    // Act
    const result = spawnSync(process.execPath, ['--import', fakeOldNode, ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
    });

    // Assess
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'stytch-m2m-rotator: found Node v20.1.0, needs Node >= 22 (see README "Prerequisites")\n',
    );
  });

  it('bin/rotator.mjs without a build says to run `npm run build`, in one line, exit 2', () => {
    // Prepare: the entry point and its version check, with no dist/ beside them
    const root = mkdtempSync(join(tmpdir(), 'rotator-unbuilt-'));
    try {
      mkdirSync(join(root, 'bin'));
      mkdirSync(join(root, 'scripts'));
      copyFileSync(`${repoRoot}bin/rotator.mjs`, join(root, 'bin/rotator.mjs'));
      copyFileSync(`${repoRoot}scripts/require-node.mjs`, join(root, 'scripts/require-node.mjs'));

      // Act
      const result = spawnSync(process.execPath, [join(root, 'bin/rotator.mjs'), '--help'], {
        encoding: 'utf8',
      });

      // Assess
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'rotator: the CLI is not built (dist/cli/rotator.mjs): run `npm run build`\n',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('bin/rotator.mjs --version prints the version the build took from package.json', () => {
    // Act
    const result = spawnSync(process.execPath, ['bin/rotator.mjs', '--version'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });

    // Assess
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${packageVersion}\n`);
  });

  it('bin/rotator.mjs --help loads neither the AWS SDK nor undici', () => {
    // Prepare: a module hook that lists every file the process loads
    const recorder =
      "import { registerHooks } from 'node:module';" +
      'const loaded = [];' +
      'registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });' +
      "process.on('exit', () => process.stderr.write(JSON.stringify(loaded)));";

    // Act
    const result = spawnSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(recorder)}`, 'bin/rotator.mjs', '--help'],
      { cwd: repoRoot, encoding: 'utf8' },
    );

    // Assess: the bundle names each inlined package in a comment (`// node_modules/undici/…`)
    expect(result.status).toBe(0);
    const files = (JSON.parse(result.stderr) as string[])
      .filter((url) => url.startsWith('file:'))
      .map((url) => readFileSync(fileURLToPath(url), 'utf8'));
    expect(files.length).toBeGreaterThan(1);
    for (const text of files) {
      expect(text).not.toMatch(/node_modules\/(@aws-sdk|@smithy|undici)\//);
    }
    expect(files.some((text) => text.includes('node_modules/commander/'))).toBe(true);
  });

  it('bin/rotator.mjs runs the CLI on a current Node', () => {
    // Act
    const result = spawnSync(process.execPath, ['bin/rotator.mjs', '--help'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });

    // Assess
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: rotator');
  });
});
