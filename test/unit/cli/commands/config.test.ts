import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { exec } from '#cli/exec.js';
import { bufferedIo } from '../../../support/cliIo.js';

const SAMPLE = fileURLToPath(new URL('../../../../config/rotator.sample.json', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rotator-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A config file in the test's directory. */
function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stytch/project-credentials-AbCdEf';
/** The refusal of a config that still lists its clients (they moved to the registry). */
const CLIENTS_MOVED =
  'clients: clients are no longer part of the deployment config: move them to the registry with ' +
  '`rotator apply -f <this file>` (docs/fleet.md), then delete this key';
/** Four problems: a bad prefix, the clients of an older config, an unknown key, a repeated account. */
const BAD = JSON.stringify({
  stytch: { projectCredentialsSecretArn: ARN },
  secretPrefix: 'stytch/m2m/',
  clients: [{ clientId: 'm2m-client-test-a', schedule: { expression: 'rate(30 days)' } }],
  leakScanners: [{ source: 'acme.scanner', descripton: 'Acme' }],
  crossAccountConsumerAccounts: ['111122223333', '111122223333'],
});

describe('Command: config validate', () => {
  it('says a valid config is valid in one line with its counts, and no client count, exit 0', async () => {
    // Prepare
    const io = bufferedIo();

    // Act
    const code = await exec(['config', 'validate', SAMPLE], io);

    // Assess
    expect(code).toBe(0);
    expect(io.stderr.text).toBe('');
    expect(io.stdout.text).toBe(
      `${SAMPLE}: valid: secret prefix stytch/m2m, 1 leak scanner, 0 cross-account consumer accounts\n`,
    );
  });

  it('prints one JSON document for a valid config with --json', async () => {
    // Prepare
    const io = bufferedIo();

    // Act
    const code = await exec(['config', 'validate', SAMPLE, '--json'], io);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(io.stdout.text)).toEqual({
      file: SAMPLE,
      valid: true,
      secretPrefix: 'stytch/m2m',
      leakScanners: 1,
      crossAccountConsumerAccounts: 0,
    });
  });

  it('lists every problem of an invalid config with its path, no stack trace, exit 2', async () => {
    // Prepare
    const file = configFile('bad.json', BAD);
    const io = bufferedIo();

    // Act
    const code = await exec(['config', 'validate', file], io);

    // Assess
    expect(code).toBe(2);
    expect(io.stdout.text).toBe('');
    expect(io.stderr.text.split('\n')).toEqual([
      `rotator: ${file} is not a valid deployment config (4 problems):`,
      '  secretPrefix: must not end with "/"',
      `  ${CLIENTS_MOVED}`,
      '  leakScanners[0].descripton: unknown key (not a deployment config field)',
      '  crossAccountConsumerAccounts[1]: account "111122223333" is already listed at crossAccountConsumerAccounts[0]',
      '',
    ]);
  });

  it('prints the problems as one JSON document with --json, exit 2', async () => {
    // Prepare
    const file = configFile('bad-json.json', BAD);
    const io = bufferedIo();

    // Act
    const code = await exec(['config', 'validate', file, '--json'], io);

    // Assess
    expect(code).toBe(2);
    expect(io.stderr.text).toBe('');
    const document = JSON.parse(io.stdout.text) as { file: string; valid: boolean; problems: string[] };
    expect(document).toMatchObject({ file, valid: false });
    expect(document.problems).toHaveLength(4);
    expect(document.problems[1]).toBe(CLIENTS_MOVED);
    expect(document.problems[2]).toBe(
      'leakScanners[0].descripton: unknown key (not a deployment config field)',
    );
  });

  it.each([
    ['a missing file', () => join(dir, 'missing.json'), /^ {2}cannot be read \(ENOENT\)$/],
    ['a file that is not JSON', () => configFile('not.json', '{"stytch": '), /^ {2}is not valid JSON: /],
    [
      'a missing field',
      () => configFile('empty.json', '{"secretPrefix": "stytch/m2m"}'),
      /^ {2}stytch: missing \(expected object\)$/,
    ],
  ])('reports %s as a problem, exit 2', async (_label, file, problem) => {
    // Prepare
    const io = bufferedIo();

    // Act
    const code = await exec(['config', 'validate', file()], io);

    // Assess
    expect(code).toBe(2);
    expect(io.stderr.text.split('\n')[1]).toMatch(problem);
  });

  it('escapes what the file quotes back (a key with a terminal escape)', async () => {
    // Prepare
    const file = configFile(
      'escape.json',
      JSON.stringify({
        stytch: { projectCredentialsSecretArn: ARN },
        leakScanners: [{ source: 'acme.scanner', '\u001b[2J': 1 }],
      }),
    );
    const io = bufferedIo();

    // Act
    const code = await exec(['config', 'validate', file], io);

    // Assess
    expect(code).toBe(2);
    expect(io.stderr.text).not.toContain('\u001b');
    expect(io.stderr.text).toContain('leakScanners[0].\\x1b[2J: unknown key');
  });
});
