import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exec } from '#cli/exec.js';
import { bufferedIo } from '../../support/cliIo.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fakeOldNode = fileURLToPath(new URL('../../support/fakeOldNode.mjs', import.meta.url));

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
