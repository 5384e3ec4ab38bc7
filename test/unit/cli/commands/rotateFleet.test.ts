import { describe, expect, it } from 'vitest';
import { exec } from '#cli/exec.js';
import { bufferedIo } from '../../../support/cliIo.js';

// Every fleet flag is checked before AWS is reached: an endpoint nothing listens on proves it.
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
  ROTATOR_TABLE_NAME: 'stytch-m2m-rotator',
};

describe('Command: rotate --all (fleet flags)', () => {
  it.each([
    // Number('') and Number('  ') are 0, inside the range: a blank value needs its own check.
    ['an empty --tolerated-failure-percentage', ['--tolerated-failure-percentage', '']],
    ['a blank --tolerated-failure-percentage', ['--tolerated-failure-percentage', '  ']],
    ['a --tolerated-failure-percentage over 100', ['--tolerated-failure-percentage', '101']],
    ['a --tolerated-failure-percentage that is not a number', ['--tolerated-failure-percentage', 'ten']],
  ])('refuses %s with one line, exit 2, before calling AWS', async (_case, args) => {
    // Prepare
    const io = bufferedIo(ENV);

    // Act
    const code = await exec(['rotate', '--all', ...args], io);

    // Assess
    expect(code).toBe(2);
    expect(io.stderr.text).toContain('--tolerated-failure-percentage must be a number from 0 to 100');
    expect(io.stderr.text.trim().split('\n')).toHaveLength(1);
    expect(io.stdout.text).toBe('');
  });
});
