import { describe, expect, it } from 'vitest';
import { exec } from '#cli/exec.js';
import { bufferedIo } from '../../../support/cliIo.js';

// Every input is checked before AWS is reached: an endpoint nothing listens on proves it.
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
  ROTATOR_EVENT_BUS_NAME: 'stytch-m2m-rotator',
  ROTATOR_SECRET_PREFIX: 'stytch/m2m',
};

describe('Command: revoke-tokens', () => {
  it.each([
    ['a client id that is not one', ['bad id'], /client id "bad id" must be/],
    [
      'a --before that is not a time',
      ['m2m-a', '--before', 'yesterday'],
      /--before "yesterday" must be an ISO-8601/,
    ],
    ['a --before in the future', ['m2m-a', '--before', '2999-01-01T00:00:00Z'], /--before is in the future/],
    ['a --before past every token', ['m2m-a', '--before', '2020-01-01T00:00:00Z'], /over an hour ago/],
    ['an empty --reason', ['m2m-a', '--reason', '  '], /--reason must be 1 to 500 characters/],
  ])('refuses %s with one line, exit 2, before calling AWS', async (_case, args, message) => {
    // Prepare
    const io = bufferedIo(ENV);

    // Act
    const code = await exec(['revoke-tokens', ...args], io);

    // Assess
    expect(code).toBe(2);
    expect(io.stderr.text).toMatch(message);
    expect(io.stderr.text.trim().split('\n')).toHaveLength(1);
    expect(io.stdout.text).toBe('');
  });
});
