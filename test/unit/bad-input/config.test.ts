import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { EnvironmentError, readRotatorEnv } from '#wiring/environment.js';
import { ClientsFileError, parseClientsFile } from '../../../lambdas/core/clientsFile.js';
import { scheduleExpressionProblem } from '../../../lambdas/core/scheduleExpression.js';
import {
  type DeploymentConfig,
  DeploymentConfigError,
  loadDeploymentConfig,
  parseDeploymentConfig,
} from '../../../lib/config/DeploymentConfig.js';
import { StytchM2MRotator } from '../../../lib/StytchM2MRotator.js';

/**
 * Bad deployment configs, clients files (`rotator apply -f`), Lambda environments and construct
 * props (issue 8 §5): each is refused with one error that lists every problem with its path, and a
 * clients file's problems with their line too. A deployment config that still lists its clients is
 * refused with the way to move them to the registry. test/unit/lib/DeploymentConfig.test.ts,
 * test/unit/core/clientsFile.test.ts, test/unit/wiring/environment.test.ts and
 * test/infra/StytchM2MRotator.test.ts hold the first cases (rate(1 days), rate(2 day), rate(0 days),
 * a five-field cron, Mars/Olympus, `not-an-arn`, a name and a client id listed twice, an unreadable
 * and a non-JSON file, a stale `ROTATOR_CLIENTS` of `{not json`, …); these are others.
 */

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stytch/project-credentials-AbCdEf';

/** The issue a deployment config that still lists its clients gets, whatever they are. */
const CLIENTS_MOVED =
  'clients: clients are no longer part of the deployment config: move them to the registry with ' +
  '`rotator apply -f <this file>` (docs/fleet.md), then delete this key';

/** A valid deployment config (it has no clients: they are in the registry), with `overrides`. */
function config(overrides: Record<string, unknown> = {}): unknown {
  return { stytch: { projectCredentialsSecretArn: ARN }, ...overrides };
}

/** The issues `parseDeploymentConfig` reports for `value` (fails the test when it parses). */
function configIssues(value: unknown): readonly string[] {
  try {
    parseDeploymentConfig(value, 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(DeploymentConfigError);
    return (error as DeploymentConfigError).issues;
  }
  throw new Error('the config was accepted');
}

/** A valid clients-file entry (it adopts a client), with `overrides` (undefined drops a field). */
function client(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    clientId: 'm2m-client-test-billing-worker',
    schedule: { expression: 'rate(30 days)', timeZone: 'UTC', flexibleWindowMinutes: 60 },
    policy: { expectedConsumers: ['billing-api'] },
    ...overrides,
  };
}

/** A clients file (`rotator apply -f`) listing `clients`, as JSON with one key a line. */
function clientsFile(clients: unknown): string {
  return JSON.stringify({ clients }, null, 2);
}

/**
 * The problems `parseClientsFile` reports for `text`, each `clients.json:<line>: <path>: <message>`
 * (fails the test when it parses).
 */
function clientsFileProblems(text: string): readonly string[] {
  try {
    parseClientsFile(text, 'clients.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ClientsFileError);
    return (error as ClientsFileError).problems;
  }
  throw new Error('the clients file was accepted');
}

/** The problems of a clients file listing `clients`, each checked for and stripped of `clients.json:<line>: `. */
function clientIssues(clients: unknown): readonly string[] {
  return clientsFileProblems(clientsFile(clients)).map((problem) => {
    expect(problem).toMatch(/^clients\.json:[1-9]\d*: /);
    return problem.replace(/^clients\.json:\d+: /, '');
  });
}

const GOOD_ENV: Readonly<Record<string, string>> = {
  ROTATOR_TABLE_NAME: 'stytch-m2m-rotator-ledger',
  ROTATOR_EVENT_BUS_NAME: 'stytch-m2m-rotator',
  ROTATOR_SECRET_PREFIX: 'stytch/m2m',
  ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: ARN,
  ROTATOR_FINGERPRINT_KEY_SECRET_ID: 'stytch-m2m-rotator/fingerprint-key',
};

/** The issues `readRotatorEnv` reports for `env` (fails the test when it is accepted). */
function envIssues(env: Record<string, string | undefined>): readonly string[] {
  try {
    readRotatorEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentError);
    return (error as EnvironmentError).issues;
  }
  throw new Error('the environment was accepted');
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'bad-config-')), name);
  writeFileSync(path, text);
  return path;
}

describe('the valid values these cases start from', () => {
  it('are accepted', () => {
    expect(parseDeploymentConfig(config())).toEqual({
      stytch: { projectCredentialsSecretArn: ARN, requestsPerSecond: 20 },
      secretPrefix: 'stytch/m2m',
      secretsManagerWritesPerSecond: 25,
      leakScanners: [],
      crossAccountConsumerAccounts: [],
    });
    expect(parseClientsFile(clientsFile([client()]), 'clients.json').entries).toEqual([
      {
        line: 3,
        index: 0,
        spec: expect.objectContaining({ name: 'm2m-client-test-billing-worker', kind: 'm2m' }),
      },
    ]);
    expect(readRotatorEnv(GOOD_ENV).ROTATOR_TABLE_NAME).toBe('stytch-m2m-rotator-ledger');
  });
});

describe('Schedule expressions', () => {
  it.each([
    ['rate(5 minute)', /^use the plural unit for 5: rate\(5 minutes\)$/],
    ['rate(1 hours)', /^use the singular unit for 1: rate\(1 hour\)$/],
    ['rate(-1 days)', /^must be rate\(N unit\) or cron/],
    ['rate(1.5 days)', /^must be rate\(N unit\) or cron/],
    ['rate(10 Days)', /^must be rate\(N unit\) or cron/],
    ['rate(7days)', /^must be rate\(N unit\) or cron/],
    [' rate(1 day)', /^must be rate\(N unit\) or cron/],
    ['', /^must be rate\(N unit\) or cron/],
    ['at(2030-01-01T00:00:00)', /^must be rate\(N unit\) or cron/],
    ['cron()', /^must be rate\(N unit\) or cron/],
    ['cron(0 3 ? * MON * 2030)', /^cron needs 6 fields .*got 7$/],
    ['cron(0 24 ? * MON *)', /^cron field 2 \("24"\) is not valid$/],
    ['cron(0 3 ? * MON#6 *)', /^cron field 5 \("MON#6"\) is not valid$/],
    ['cron(0 3 1 * MON *)', /^cron needs "\?" in exactly one of day-of-month and day-of-week$/],
  ])('rejects %j, in a clients file on the line of the expression', (expression, problem) => {
    // Act
    const message = scheduleExpressionProblem(expression);

    // Assess
    expect(message).toMatch(problem);
    expect(clientsFileProblems(clientsFile([client({ schedule: { expression } })]))).toEqual([
      `clients.json:6: clients[0].schedule.expression: ${message}`,
    ]);
  });
});

describe('Clients file: one bad value each, reported at its path', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'an empty time zone',
      { schedule: { expression: 'rate(1 day)', timeZone: '' } },
      /^clients\[0\]\.schedule\.timeZone: unknown time zone ""$/,
    ],
    [
      'a misspelt time zone',
      { schedule: { expression: 'rate(1 day)', timeZone: 'Europe/Berln' } },
      /^clients\[0\]\.schedule\.timeZone: unknown time zone "Europe\/Berln"$/,
    ],
    [
      'an offset zone past +14',
      { schedule: { expression: 'rate(1 day)', timeZone: 'Etc/GMT+15' } },
      /^clients\[0\]\.schedule\.timeZone: unknown time zone/,
    ],
    [
      'flexibleWindowMinutes 0',
      { schedule: { expression: 'rate(1 day)', flexibleWindowMinutes: 0 } },
      /^clients\[0\]\.schedule\.flexibleWindowMinutes: Too small/,
    ],
    [
      'flexibleWindowMinutes 1441',
      { schedule: { expression: 'rate(1 day)', flexibleWindowMinutes: 1441 } },
      /^clients\[0\]\.schedule\.flexibleWindowMinutes: Too big/,
    ],
    [
      'flexibleWindowMinutes as a string',
      { schedule: { expression: 'rate(1 day)', flexibleWindowMinutes: '60' } },
      /^clients\[0\]\.schedule\.flexibleWindowMinutes: /,
    ],
    [
      'deadlineSeconds 0',
      { policy: { leak: { deadlineSeconds: 0 } } },
      /^clients\[0\]\.policy\.leak\.deadlineSeconds: Too small/,
    ],
    [
      'deadlineSeconds past 7 days',
      { policy: { schedule: { deadlineSeconds: 604_801 } } },
      /^clients\[0\]\.policy\.schedule\.deadlineSeconds: Too big/,
    ],
    [
      'fractional deadlineSeconds',
      { policy: { manual: { deadlineSeconds: 1.5 } } },
      /^clients\[0\]\.policy\.manual\.deadlineSeconds: .*int/,
    ],
    [
      'an unknown onDeadline',
      { policy: { leak: { onDeadline: 'abort' } } },
      /^clients\[0\]\.policy\.leak\.onDeadline: expected one of/,
    ],
    [
      'a policy for an unknown trigger',
      { policy: { emergency: { deadlineSeconds: 60 } } },
      /^clients\[0\]\.policy\.emergency: unknown key$/,
    ],
    [
      'an invalid consumer name',
      { policy: { expectedConsumers: ['billing api'] } },
      /^clients\[0\]\.policy\.expectedConsumers\[0\]: must be letters/,
    ],
    [
      '101 expected consumers',
      { policy: { expectedConsumers: Array.from({ length: 101 }, (_, i) => `c${i}`) } },
      /^clients\[0\]\.policy\.expectedConsumers: Too big/,
    ],
    [
      'a misspelt client key',
      { schedules: { expression: 'rate(1 day)' } },
      /^clients\[0\]\.schedules: unknown key$/,
    ],
    ['a client id with a path', { clientId: '../billing' }, /^clients\[0\]\.clientId: must be letters/],
    ['an unknown kind', { kind: 'oauth' }, /^clients\[0\]\.kind: expected one of "m2m"\|"connected_app"$/],
    [
      'a name with a space',
      { name: 'billing worker' },
      /^clients\[0\]\.name: must be letters, digits, "\.", "_" or "-" \(1-64\)/,
    ],
    [
      'an entry with neither a name nor a client id',
      { clientId: undefined, scopes: ['read:invoices'] },
      /^clients\[0\]\.name: missing: an entry needs a name or a clientId$/,
    ],
    [
      'a new M2M client without scopes',
      { clientId: undefined, name: 'billing-worker' },
      /^clients\[0\]\.scopes: missing: creating an M2M client needs scopes$/,
    ],
    [
      'a Connected App without a client id',
      { clientId: undefined, name: 'partner-portal', kind: 'connected_app' },
      /^clients\[0\]\.clientId: missing: a Connected App is adopted by its id/,
    ],
  ])('rejects %s', (_label, overrides, issue) => {
    expect(clientIssues([client(overrides)])).toEqual([expect.stringMatching(issue)]);
  });

  it('rejects clients that are not a list, on the line of the key', () => {
    expect(clientsFileProblems(clientsFile({ 'm2m-client-test-1': {} }))).toEqual([
      'clients.json:2: clients: expected a list of clients, got a mapping',
    ]);
  });

  it('names the line of the first occurrence for every further duplicate of a client id', () => {
    // Prepare
    const duplicate = { clientId: 'm2m-client-test-dup' };
    const text = clientsFile([duplicate, { clientId: 'm2m-client-test-other' }, duplicate, duplicate]);

    // Act & Assess
    expect(clientsFileProblems(text)).toEqual([
      'clients.json:10: clients[2].clientId: "m2m-client-test-dup" is already listed at line 4',
      'clients.json:13: clients[3].clientId: "m2m-client-test-dup" is already listed at line 4',
    ]);
  });
});

describe('Deployment config: one bad value each, reported at its path', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a secretPrefix ending in "/"',
      { secretPrefix: 'stytch/m2m/' },
      /^secretPrefix: must not end with "\/"$/,
    ],
    [
      'a secretPrefix with a space',
      { secretPrefix: 'stytch m2m' },
      /^secretPrefix: must be 1-200 characters valid in a secret name$/,
    ],
    ['an empty secretPrefix', { secretPrefix: '' }, /^secretPrefix: must be 1-200 characters/],
    [
      'a secretPrefix of 201 characters',
      { secretPrefix: 'p'.repeat(201) },
      /^secretPrefix: must be 1-200 characters/,
    ],
    [
      'credentials as a secret name, not an ARN',
      { stytch: { projectCredentialsSecretArn: 'stytch/project-credentials' } },
      /^stytch\.projectCredentialsSecretArn: must be a Secrets Manager secret ARN$/,
    ],
    [
      'credentials as a KMS key ARN',
      { stytch: { projectCredentialsSecretArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd' } },
      /^stytch\.projectCredentialsSecretArn: must be a Secrets Manager secret ARN$/,
    ],
    [
      'credentials ARN with an 11-digit account',
      { stytch: { projectCredentialsSecretArn: ARN.replace('123456789012', '12345678901') } },
      /^stytch\.projectCredentialsSecretArn: must be a Secrets Manager secret ARN$/,
    ],
    ['no stytch section', { stytch: undefined }, /^stytch: /],
    [
      'a misspelt top-level key',
      { secretPrefx: 'stytch/m2m' },
      /^secretPrefx: unknown key \(not a deployment config field\)$/,
    ],
    [
      "a leak scanner using the rotator's own source",
      { leakScanners: [{ source: 'stytch-m2m-rotator.operator' }] },
      /^leakScanners\[0\]\.source: must not start with "stytch-m2m-rotator" \(reserved\)$/,
    ],
    [
      'a leak scanner spelling the rotator source in capitals',
      { leakScanners: [{ source: 'Stytch-M2M-Rotator.consumer.billing-api' }] },
      /^leakScanners\[0\]\.source: must not start with "stytch-m2m-rotator" \(reserved\)$/,
    ],
    [
      'a leak scanner posing as AWS (EventBridge refuses aws. sources from anyone else)',
      { leakScanners: [{ source: 'aws.securityhub' }] },
      /^leakScanners\[0\]\.source: must not start with "aws\." \(reserved\)$/,
    ],
    [
      'a leak scanner source with a wildcard',
      { leakScanners: [{ source: 'acme.*' }] },
      /^leakScanners\[0\]\.source: must be 1-256 characters of letters, digits and \. _ - \//,
    ],
    [
      'an empty leak scanner source',
      { leakScanners: [{ source: '' }] },
      /^leakScanners\[0\]\.source: must be 1-256/,
    ],
    [
      'a leak scanner with a misspelt key',
      { leakScanners: [{ source: 'acme.scanner', descripton: 'x' }] },
      /^leakScanners\[0\]\.descripton: unknown key \(not a deployment config field\)$/,
    ],
    [
      'a leak scanner without a source',
      { leakScanners: [{ description: 'x' }] },
      /^leakScanners\[0\]\.source: /,
    ],
    [
      'a cross-account consumer account of 11 digits',
      { crossAccountConsumerAccounts: ['11112222333'] },
      /^crossAccountConsumerAccounts\[0\]: must be a 12-digit AWS account id$/,
    ],
    [
      'a cross-account consumer account given as an ARN',
      { crossAccountConsumerAccounts: ['arn:aws:iam::111122223333:root'] },
      /^crossAccountConsumerAccounts\[0\]: must be a 12-digit AWS account id$/,
    ],
    [
      'a cross-account consumer account as a number',
      { crossAccountConsumerAccounts: [111122223333] },
      /^crossAccountConsumerAccounts\[0\]: /,
    ],
    [
      'a Stytch budget of 0 requests per second',
      { stytch: { projectCredentialsSecretArn: ARN, requestsPerSecond: 0 } },
      /^stytch\.requestsPerSecond: /,
    ],
    [
      'a Stytch budget given as text',
      { stytch: { projectCredentialsSecretArn: ARN, requestsPerSecond: '100' } },
      /^stytch\.requestsPerSecond: /,
    ],
    [
      'a fractional Secrets Manager write budget',
      { secretsManagerWritesPerSecond: 12.5 },
      /^secretsManagerWritesPerSecond: /,
    ],
  ])('rejects %s', (_label, overrides, issue) => {
    expect(configIssues(config(overrides))).toEqual([expect.stringMatching(issue)]);
  });

  it.each<[string, unknown]>([
    ['a list of clients', [client()]],
    ['an empty list', []],
    ['a map by client id', { 'm2m-client-test-1': { kind: 'm2m' } }],
    ['null', null],
  ])('refuses a config that still has clients (%s), with the command that moves them', (_label, clients) => {
    expect(configIssues(config({ clients }))).toEqual([CLIENTS_MOVED]);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', [config()]],
  ])('rejects a config that is %s at its root', (_label, value) => {
    expect(configIssues(value)).toEqual([expect.stringMatching(/^\(root\): /)]);
  });

  it('reports every leak scanner and cross-account problem at once, repeats naming the first occurrence', () => {
    // Prepare
    const value = config({
      leakScanners: [
        { source: 'acme.scanner' },
        { source: 'aws.macie' },
        { source: 'acme.scanner', description: 'twice' },
      ],
      crossAccountConsumerAccounts: ['111122223333', '1234', '111122223333'],
    });

    // Act
    const issues = configIssues(value);

    // Assess
    expect([...issues].sort()).toEqual([
      'crossAccountConsumerAccounts[1]: must be a 12-digit AWS account id',
      'crossAccountConsumerAccounts[2]: account "111122223333" is already listed at crossAccountConsumerAccounts[0]',
      'leakScanners[1].source: must not start with "aws." (reserved)',
      'leakScanners[2].source: source "acme.scanner" is already listed at leakScanners[0]',
    ]);
  });

  it('accepts leak scanners and cross-account consumer accounts, and defaults both to none', () => {
    // Act
    const given = parseDeploymentConfig(
      config({
        leakScanners: [{ source: 'acme.secret-scanner', description: 'Acme' }, { source: 'corp/scanner_2' }],
        crossAccountConsumerAccounts: ['111122223333'],
      }),
    );
    const omitted = parseDeploymentConfig(config());

    // Assess
    expect(given.leakScanners).toEqual([
      { source: 'acme.secret-scanner', description: 'Acme' },
      { source: 'corp/scanner_2' },
    ]);
    expect(given.crossAccountConsumerAccounts).toEqual(['111122223333']);
    expect(omitted.leakScanners).toEqual([]);
    expect(omitted.crossAccountConsumerAccounts).toEqual([]);
  });

  describe('a config file that still lists its clients, with other problems', () => {
    /** An older config: two bad settings, and clients with seven bad values and a repeated client id. */
    const OLD_CONFIG = {
      stytch: { projectCredentialsSecretArn: 'arn:aws:secretsmanager:us-east-1:123:secret:x' },
      secretPrefix: 'stytch/m2m/',
      clients: [
        {
          clientId: 'm2m-client-test-a',
          schedule: { expression: 'rate(5 minute)', timeZone: 'Nowhere/City', flexibleWindowMinutes: 0 },
          policy: { expectedConsumers: ['api', 'api'], leak: { deadlineSeconds: 0, onDeadline: 'wait' } },
        },
        { clientId: 'm2m-client-test-a', kind: 'oauth' },
      ],
    };

    it('reports every problem of the deployment config, the clients key among them, in one error that names the file', () => {
      // Prepare
      const path = tempFile('rotator.json', JSON.stringify(OLD_CONFIG, null, 2));

      // Act
      let error: unknown;
      try {
        loadDeploymentConfig(path);
      } catch (caught) {
        error = caught;
      }

      // Assess
      expect(error).toBeInstanceOf(DeploymentConfigError);
      const { issues, message } = error as DeploymentConfigError;
      expect(issues).toEqual([
        'stytch.projectCredentialsSecretArn: must be a Secrets Manager secret ARN',
        'secretPrefix: must not end with "/"',
        CLIENTS_MOVED,
      ]);
      expect(message.startsWith(`Invalid deployment config ${path}:\n- `)).toBe(true);
      for (const issue of issues) expect(message).toContain(`\n- ${issue}`);
    });

    it('reports every problem of its clients, each on its line, when the same file is applied as a clients file', () => {
      // Prepare: `rotator apply -f <this file>`, as the refusal says; the deployment settings are read past
      const path = tempFile('rotator.json', JSON.stringify(OLD_CONFIG, null, 2));

      // Act
      let error: unknown;
      try {
        parseClientsFile(readFileSync(path, 'utf8'), path);
      } catch (caught) {
        error = caught;
      }

      // Assess
      expect(error).toBeInstanceOf(ClientsFileError);
      const { problems, message } = error as ClientsFileError;
      expect(problems.every((problem) => problem.startsWith(`${path}:`))).toBe(true);
      expect(problems.map((problem) => problem.slice(path.length + 1))).toEqual([
        '10: clients[0].schedule.expression: use the plural unit for 5: rate(5 minutes)',
        '11: clients[0].schedule.timeZone: unknown time zone "Nowhere/City"',
        expect.stringMatching(/^12: clients\[0\]\.schedule\.flexibleWindowMinutes: Too small/),
        '15: clients[0].policy.expectedConsumers: must not repeat a consumer',
        expect.stringMatching(/^20: clients\[0\]\.policy\.leak\.deadlineSeconds: Too small/),
        expect.stringMatching(/^21: clients\[0\]\.policy\.leak\.onDeadline: expected one of/),
        '26: clients[1].clientId: "m2m-client-test-a" is already listed at line 8',
        '27: clients[1].kind: expected one of "m2m"|"connected_app"',
      ]);
      expect(message.startsWith(`Invalid clients file ${path}:\n- `)).toBe(true);
      for (const problem of problems) expect(message).toContain(`\n- ${problem}`);
    });
  });

  it.each<[string, string, RegExp]>([
    ['an empty file', '', /is not valid JSON/],
    ['a JSON null', 'null', /\(root\): /],
    ['a JSON list', '[]', /\(root\): /],
  ])('rejects %s, naming the file', (_label, text, issue) => {
    // Prepare
    const path = tempFile('config.json', text);

    // Act & Assess
    expect(() => loadDeploymentConfig(path)).toThrow(DeploymentConfigError);
    expect(() => loadDeploymentConfig(path)).toThrow(new RegExp(`config\\.json:\\n- ${issue.source}`));
  });

  it('rejects a directory as the config file, naming the reason', () => {
    // Prepare
    const directory = mkdtempSync(join(tmpdir(), 'bad-config-dir-'));

    // Act & Assess
    expect(() => loadDeploymentConfig(directory)).toThrow(/cannot be read \(EISDIR\)/);
  });
});

describe('Lambda environment (readRotatorEnv)', () => {
  it('names every missing required variable at once, one issue each, and no client list', () => {
    // Act
    const issues = envIssues({});

    // Assess
    const names = issues.map((issue) => issue.split(':')[0]);
    expect([...names].sort()).toEqual([
      'ROTATOR_EVENT_BUS_NAME',
      'ROTATOR_FINGERPRINT_KEY_SECRET_ID',
      'ROTATOR_STYTCH_CREDENTIALS_SECRET_ID',
      'ROTATOR_TABLE_NAME',
    ]);
  });

  it.each<[string, Record<string, string | undefined>, RegExp[]]>([
    ['an empty table name', { ROTATOR_TABLE_NAME: '' }, [/^ROTATOR_TABLE_NAME: /]],
    [
      'no fingerprint key secret',
      { ROTATOR_FINGERPRINT_KEY_SECRET_ID: undefined },
      [/^ROTATOR_FINGERPRINT_KEY_SECRET_ID: /],
    ],
    [
      'a base URL that is not a URL and an empty bus, together',
      { ROTATOR_STYTCH_BASE_URL: '//stytch.local', ROTATOR_EVENT_BUS_NAME: '' },
      [/^ROTATOR_EVENT_BUS_NAME: /, /^ROTATOR_STYTCH_BASE_URL: /],
    ],
  ])('rejects %s', (_label, change, expected) => {
    // Act
    const issues = envIssues({ ...GOOD_ENV, ...change });

    // Assess
    expect([...issues].sort()).toEqual(expected.map((pattern) => expect.stringMatching(pattern)));
  });

  // The functions read their clients from the registry: a ROTATOR_CLIENTS left by an older
  // deployment is not parsed, so no value of it can stop a function from starting.
  it.each<[string, string]>([
    ['a JSON list', '[]'],
    ['JSON null', 'null'],
    ['cut short', '{"m2m-client-test-1": {"kind": "m2m"'],
    [
      'with a bad client id, a missing policy and a zero deadline',
      JSON.stringify({
        '../x': { kind: 'm2m', policy: {} },
        'm2m-client-test-2': { kind: 'm2m' },
        'm2m-client-test-3': { kind: 'm2m', policy: { leak: { deadlineSeconds: 0 } } },
      }),
    ],
  ])('ignores a stale ROTATOR_CLIENTS %s: not parsed, not returned', (_label, clients) => {
    // Act
    const env = readRotatorEnv({ ...GOOD_ENV, ROTATOR_CLIENTS: clients });

    // Assess
    expect(env).toEqual(readRotatorEnv(GOOD_ENV));
    expect(env).not.toHaveProperty('ROTATOR_CLIENTS');
  });

  it('puts every issue in the one message and no value of the environment, a stale ROTATOR_CLIENTS included', () => {
    // Prepare
    const env = {
      ...GOOD_ENV,
      ROTATOR_TABLE_NAME: '',
      ROTATOR_STYTCH_BASE_URL: 'never-printed-value-9f3a',
      ROTATOR_CLIENTS: '{"never-printed-client-7c1e":',
    };

    // Act & Assess
    expect(() => readRotatorEnv(env)).toThrow(
      /^Invalid Lambda environment: ROTATOR_TABLE_NAME: .*; ROTATOR_STYTCH_BASE_URL: must be an http\(s\) URL$/,
    );
    expect(() => readRotatorEnv(env)).not.toThrow(
      /never-printed-value-9f3a|never-printed-client-7c1e|ROTATOR_CLIENTS/,
    );
  });
});

describe('StytchM2MRotator props', () => {
  const valid = parseDeploymentConfig(config()) as DeploymentConfig;
  const construct = (props: Partial<ConstructorParameters<typeof StytchM2MRotator>[2]>) => () =>
    new StytchM2MRotator(new Stack(new App(), 'BadProps'), 'Rotator', { config: valid, ...props });

  it.each<[string, Partial<ConstructorParameters<typeof StytchM2MRotator>[2]>, RegExp]>([
    [
      'eventBusName "default"',
      { eventBusName: 'default' },
      /^Invalid StytchM2MRotator props:\n- eventBusName must not be "default": the rotator needs its own bus$/,
    ],
    [
      'an empty eventBusName',
      { eventBusName: '' },
      /^Invalid StytchM2MRotator props:\n- eventBusName "" must be 1-256 characters/,
    ],
    [
      'an eventBusName of 257 characters',
      { eventBusName: 'b'.repeat(257) },
      /^Invalid StytchM2MRotator props:\n- eventBusName "b{257}" must be 1-256/,
    ],
    [
      'an eventBusName that is an ARN',
      { eventBusName: 'arn:aws:events:us-east-1:123456789012:event-bus/rotator' },
      /^Invalid StytchM2MRotator props:\n- eventBusName "arn:aws:events:/,
    ],
  ])('rejects %s with exactly that problem', (_label, props, message) => {
    expect(construct(props)).toThrow(message);
  });

  it('lists the bus and every monitoring problem in one error', () => {
    // Act
    let error: unknown;
    try {
      construct({
        eventBusName: 'default',
        monitoring: { alarmEmails: ['ops@example.com', 'not-an-email', 'OPS@example.com'] },
      })();
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message.split('\n')).toEqual([
      'Invalid StytchM2MRotator props:',
      '- eventBusName must not be "default": the rotator needs its own bus',
      '- monitoring.alarmEmails[1] "not-an-email" is not an email address',
      '- monitoring.alarmEmails[2] "OPS@example.com" is listed twice',
    ]);
  });
});

describe('environment values the config would refuse', () => {
  // The Lambda environment refuses what lib/config/DeploymentConfig.ts refuses: a prefix that would
  // name secrets `stytch/m2m//<id>`, a base URL that is not http(s).
  it.each([
    ['ends in "/"', 'stytch/m2m/'],
    ['has a space', 'stytch m2m'],
  ])(
    'readRotatorEnv rejects a ROTATOR_SECRET_PREFIX that %s, as the deployment config does',
    (_label, prefix) => {
      expect(envIssues({ ...GOOD_ENV, ROTATOR_SECRET_PREFIX: prefix })).toEqual([
        expect.stringMatching(/^ROTATOR_SECRET_PREFIX: /),
      ]);
    },
  );

  // env.ts validates "every variable at cold start, every problem at once"; z.url() takes
  // `localhost:9000` (scheme "localhost:"), which the Stytch client refuses only later (baseUrlIssues).
  it('readRotatorEnv rejects a ROTATOR_STYTCH_BASE_URL that is not http(s), with the other problems', () => {
    expect(
      [
        ...envIssues({ ...GOOD_ENV, ROTATOR_STYTCH_BASE_URL: 'localhost:9000', ROTATOR_TABLE_NAME: '' }),
      ].sort(),
    ).toEqual([
      expect.stringMatching(/^ROTATOR_STYTCH_BASE_URL: /),
      expect.stringMatching(/^ROTATOR_TABLE_NAME: /),
    ]);
  });
});
