import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec } from '#cli/exec.js';
import { consumerSource, type RotatorEvent } from '#core/events.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';

/**
 * `rotator consumer check` against the sandbox: Secrets Manager in moto behind the gateway, the
 * Stytch emulator's token endpoint and JWKS, and for --report the real state machine waiting for
 * consumers and the health aggregator behind the template's rule.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BILLING = 'm2m-client-test-billing-worker';
const REPORTING = 'm2m-client-test-reporting';
const PAYMENTS = 'm2m-client-test-payments';

interface CheckDocument {
  secretId: string;
  clientId: string;
  consumer: string;
  ok: boolean;
  versions: {
    stage: string;
    versionId: string;
    clientId: string;
    secretLastFour: string;
    ok: boolean;
    detail: string;
  }[];
  report:
    | {
        sent: true;
        eventBusName: string;
        source: string;
        clientId: string;
        rotationId: string;
        pendingVersionId: string;
        healthy: boolean;
      }
    | { sent: false; reason: string }
    | null;
}

let sandbox: Sandbox;
let savedEndpoint: string | undefined;
/** Everything any run of the CLI printed, for the leak check. */
const printed: string[] = [];

beforeAll(async () => {
  sandbox = await Sandbox.start({ config: sampleSandboxConfig(), say: () => undefined });
  savedEndpoint = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = sandbox.awsEndpoint;
}, 60_000);

afterAll(async () => {
  if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
  else process.env.AWS_ENDPOINT_URL = savedEndpoint;
  await sandbox?.stop();
});

/**
 * Runs `consumer check` as the consumer `--consumer` names, with its own access key (what its
 * role is in AWS): the command reads the standard SDK settings from the process environment.
 */
async function check(...argv: string[]) {
  const consumer = argv[argv.indexOf('--consumer') + 1];
  const key =
    argv.includes('--consumer') && consumer !== undefined && /^[A-Za-z0-9][\w.-]{0,63}$/.test(consumer)
      ? await sandbox.consumerCredentials(consumer)
      : undefined;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  if (key !== undefined) {
    process.env.AWS_ACCESS_KEY_ID = key.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = key.secretAccessKey;
  }
  try {
    const io = bufferedIo();
    const code = await exec(['consumer', 'check', ...argv], io);
    printed.push(io.stdout.text, io.stderr.text);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  } finally {
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

async function checkJson(...argv: string[]) {
  const result = await check(...argv, '--json');
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  return { ...result, document: JSON.parse(result.stdout) as CheckDocument };
}

const secretIdOf = (clientId: string) => `stytch/m2m/${clientId}`;

async function secretJson(clientId: string, stage: string): Promise<Record<string, string>> {
  const { SecretString = '' } = await sandbox.aws.secretsManager.send(
    new GetSecretValueCommand({ SecretId: secretIdOf(clientId), VersionStage: stage }),
  );
  return JSON.parse(SecretString) as Record<string, string>;
}

async function until<T>(find: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function eventsOf(clientId: string, detailType: string): RotatorEvent[] {
  return sandbox.events.filter(
    (event) =>
      event.detailType === detailType && (event.detail as { clientId?: string }).clientId === clientId,
  );
}

describe('CLI: rotator consumer check', () => {
  it('checks AWSCURRENT alone when no rotation is in progress: a table, exit 0', async () => {
    // Prepare
    const current = await secretJson(PAYMENTS, 'AWSCURRENT');

    // Act
    const { code, stdout, stderr } = await check(
      '--secret-id',
      secretIdOf(PAYMENTS),
      '--consumer',
      'payments-api',
    );

    // Assess
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`Secret ${secretIdOf(PAYMENTS)} (client ${PAYMENTS}), consumer payments-api`);
    expect(lines[2]).toMatch(/^STAGE\s+VERSION\s+SECRET\s+CLIENT\s+RESULT$/);
    expect(lines[3]).toMatch(
      new RegExp(
        `^AWSCURRENT\\s+[0-9a-f-]{36}\\s+…${current.client_secret?.slice(-4)}\\s+${PAYMENTS}\\s+ok$`,
      ),
    );
    expect(stdout).toContain('No AWSPENDING version: no rotation in progress.');
    expect(stdout).toContain('OK: the version present works.');
  });

  it('prints exactly one JSON document with --json, and --report without a rotation has nothing to report', async () => {
    // Prepare
    const current = await secretJson(PAYMENTS, 'AWSCURRENT');

    // Act
    const plain = await checkJson('--secret-id', secretIdOf(PAYMENTS), '--consumer', 'payments-api');
    const reported = await checkJson(
      '--secret-id',
      secretIdOf(PAYMENTS),
      '--consumer',
      'payments-api',
      '--report',
    );

    // Assess
    expect(plain.code).toBe(0);
    expect(plain.document).toEqual({
      secretId: secretIdOf(PAYMENTS),
      clientId: PAYMENTS,
      consumer: 'payments-api',
      ok: true,
      versions: [
        {
          stage: 'AWSCURRENT',
          versionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          clientId: PAYMENTS,
          secretLastFour: current.client_secret?.slice(-4),
          ok: true,
          detail: 'minted a token that verified against the JWKS',
        },
      ],
      report: null,
    });
    expect(reported.code).toBe(0);
    expect(reported.stderr).toBe('');
    expect(reported.document.report).toEqual({
      sent: false,
      reason: expect.stringMatching(/no AWSPENDING version.*nothing to report/),
    });
  });

  it('proves a real pending version and, reported by both expected consumers, the rotation completes', async () => {
    // Prepare
    const { executionArn = '' } = await sandbox.aws.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: sandbox.executor.stateMachineArn,
        input: JSON.stringify({ clientId: BILLING, trigger: 'manual' }),
      }),
    );
    const pendingEvent = await until(() => eventsOf(BILLING, 'Rotation Pending')[0], 'Rotation Pending');
    const { pendingVersionId } = pendingEvent.detail as { pendingVersionId: string };
    const pending = await secretJson(BILLING, 'AWSPENDING');

    // Act
    const table = await check('--secret-id', secretIdOf(BILLING), '--consumer', 'billing-api');
    const first = await checkJson(
      '--secret-id',
      secretIdOf(BILLING),
      '--consumer',
      'billing-api',
      '--report',
    );
    const second = await checkJson(
      '--secret-id',
      secretIdOf(BILLING),
      '--consumer',
      'invoice-worker',
      '--report',
    );
    const description = await sandbox.executor.waitForExecution(executionArn);
    await sandbox.settle();
    const after = await checkJson('--secret-id', secretIdOf(BILLING), '--consumer', 'billing-api');

    // Assess
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(
        `\\nAWSPENDING\\s+${pendingVersionId}\\s+…${pending.client_secret?.slice(-4)}\\s+${BILLING}\\s+ok\\n`,
      ),
    );
    expect(table.stdout).toContain('run again with --report');
    expect(table.stdout).toContain('OK: all 2 versions present work.');
    for (const [run, consumer] of [
      [first, 'billing-api'],
      [second, 'invoice-worker'],
    ] as const) {
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.document.versions.map((version) => [version.stage, version.ok])).toEqual([
        ['AWSCURRENT', true],
        ['AWSPENDING', true],
      ]);
      expect(run.document.versions[1]?.versionId).toBe(pendingVersionId);
      expect(run.document.report).toEqual({
        sent: true,
        eventBusName: 'stytch-m2m-rotator',
        source: consumerSource(consumer),
        clientId: BILLING,
        rotationId: pendingVersionId,
        pendingVersionId,
        healthy: true,
      });
    }
    expect(description.status).toBe('SUCCEEDED');
    expect(eventsOf(BILLING, 'Rotation Completed')).toHaveLength(1);
    expect(after.code).toBe(0);
    expect(after.document.versions).toEqual([
      expect.objectContaining({ stage: 'AWSCURRENT', versionId: pendingVersionId, ok: true }),
    ]);
  });

  it('exits 1 with the reason when the pending version does not work, and reports it unhealthy', async () => {
    // Prepare: an AWSPENDING version whose client_secret Stytch never issued.
    const current = await secretJson(REPORTING, 'AWSCURRENT');
    const bogusVersionId = randomUUID();
    await sandbox.aws.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: secretIdOf(REPORTING),
        ClientRequestToken: bogusVersionId,
        SecretString: JSON.stringify({ ...current, client_secret: `bogus-${randomUUID()}-zq9x` }),
        VersionStages: ['AWSPENDING'],
      }),
    );

    // Act
    const table = await check('--secret-id', secretIdOf(REPORTING), '--consumer', 'audit-export');
    const reported = await checkJson(
      '--secret-id',
      secretIdOf(REPORTING),
      '--consumer',
      'audit-export',
      '--report',
    );

    // Assess
    expect(table.code).toBe(1);
    expect(table.stderr).toBe('');
    expect(table.stdout).toMatch(
      new RegExp(`\\nAWSPENDING\\s+${bogusVersionId}\\s+…zq9x\\s+${REPORTING}\\s+FAILED: .*invalid_client`),
    );
    expect(table.stdout).toContain('FAILED: 1 of 2 versions does not work.');
    expect(reported.code).toBe(1);
    expect(reported.document.ok).toBe(false);
    expect(reported.document.versions).toEqual([
      expect.objectContaining({ stage: 'AWSCURRENT', ok: true }),
      {
        stage: 'AWSPENDING',
        versionId: bogusVersionId,
        clientId: REPORTING,
        secretLastFour: 'zq9x',
        ok: false,
        detail: expect.stringMatching(/refused client .*\(secret …zq9x\): HTTP 40\d invalid_client/),
      },
    ]);
    expect(reported.document.report).toMatchObject({
      sent: true,
      rotationId: bogusVersionId,
      healthy: false,
    });
  });

  it('prints the results and exits 2 with one line when the report cannot be sent', async () => {
    // Act: the bogus pending version of the test before is still there.
    const { code, document, stderr } = await checkJson(
      '--secret-id',
      secretIdOf(REPORTING),
      '--consumer',
      'audit-export',
      '--report',
      '--event-bus',
      'no-such-bus',
    );

    // Assess: the consumer's grant names the rotator's bus only, so IAM refuses before the bus is looked up.
    expect(code).toBe(2);
    expect(document.versions).toHaveLength(2);
    const reason = 'could not send Consumer Health Reported to event bus no-such-bus: AccessDeniedException';
    expect(document.report).toEqual({ sent: false, reason: expect.stringContaining(reason) });
    expect(stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(`rotator: ${reason}`)]);
  });

  it.each([
    [['--consumer', 'billing-api'], /^rotator: --secret-id <id> is required$/],
    [['--secret-id', secretIdOf(BILLING)], /^rotator: --consumer <name> is required$/],
    [['--secret-id', secretIdOf(BILLING), '--consumer', 'bad name!'], /^rotator: --consumer must be 1 to 64/],
    [
      ['--secret-id', secretIdOf(BILLING), '--consumer', 'x'.repeat(65)],
      /^rotator: --consumer must be 1 to 64/,
    ],
    [
      ['--secret-id', 'stytch/m2m/no-such-client', '--consumer', 'billing-api'],
      /^rotator: secret stytch\/m2m\/no-such-client not found in Secrets Manager \(ResourceNotFoundException\)$/,
    ],
  ])('exits 2 with one line for %j', async (argv, message) => {
    // Act
    const { code, stdout, stderr } = await check(...argv);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
  });

  it('exits 2 with one line when the secret is not a managed client secret', async () => {
    // Prepare
    for (const [name, value] of [
      ['stytch/m2m/not-json', 'this is not json'],
      ['stytch/m2m/missing-fields', JSON.stringify({ client_id: 'x', client_secret: 'never-printed-zzz1' })],
    ]) {
      await sandbox.aws.secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    }

    // Act
    const notJson = await check('--secret-id', 'stytch/m2m/not-json', '--consumer', 'billing-api', '--json');
    const missing = await check('--secret-id', 'stytch/m2m/missing-fields', '--consumer', 'billing-api');

    // Assess
    expect(notJson.code).toBe(2);
    expect(notJson.stdout).toBe('');
    expect(notJson.stderr).toBe(
      "rotator: Secret stytch/m2m/not-json is not a managed client's secret: SecretString is not JSON (AWSCURRENT)\n",
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/missing or empty project_id, token_url \(AWSCURRENT\)$/),
    ]);
  });

  it('exits 2 with one line when AWS or the token endpoint is unreachable', async () => {
    // Prepare
    const current = await secretJson(PAYMENTS, 'AWSCURRENT');
    await sandbox.aws.secretsManager.send(
      new CreateSecretCommand({
        Name: 'stytch/m2m/unreachable-stytch',
        SecretString: JSON.stringify({
          ...current,
          token_url: 'http://127.0.0.1:1/v1/public/p/oauth2/token',
        }),
      }),
    );

    // Act
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';
    const noAws = await check('--secret-id', secretIdOf(PAYMENTS), '--consumer', 'payments-api').finally(
      () => {
        process.env.AWS_ENDPOINT_URL = sandbox.awsEndpoint;
      },
    );
    const noStytch = await check(
      '--secret-id',
      'stytch/m2m/unreachable-stytch',
      '--consumer',
      'payments-api',
    );

    // Assess
    expect(noAws.code).toBe(2);
    expect(noAws.stdout).toBe('');
    expect(noAws.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^rotator: Could not read AWSCURRENT of secret .*ECONNREFUSED/),
    ]);
    expect(noStytch.code).toBe(2);
    expect(noStytch.stdout).toBe('');
    expect(noStytch.stderr).toBe(
      `rotator: the token endpoint http://127.0.0.1:1 is unreachable (AWSCURRENT, client ${PAYMENTS}); nothing was checked\n`,
    );
  });

  it('runs as a real process: bin/rotator.mjs --json, exit 0', async () => {
    // Prepare
    const child = spawn(
      process.execPath,
      [
        'bin/rotator.mjs',
        'consumer',
        'check',
        '--secret-id',
        secretIdOf(PAYMENTS),
        '--consumer',
        'fraud-scorer',
        '--json',
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, AWS_ENDPOINT_URL: sandbox.awsEndpoint },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });

    // Act
    const [code] = await once(child, 'exit');
    printed.push(stdout, stderr);

    // Assess
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const document = JSON.parse(stdout) as CheckDocument;
    expect(document).toMatchObject({
      secretId: secretIdOf(PAYMENTS),
      clientId: PAYMENTS,
      consumer: 'fraud-scorer',
      ok: true,
      report: null,
    });
    expect(document.versions.map((version) => [version.stage, version.ok])).toEqual([['AWSCURRENT', true]]);
  });

  it('printed no secret and no token, whatever it checked', async () => {
    // Prepare: every value any version of any secret holds, and every secret the sandbox handled.
    const values = new Set(sandbox.secrets.map((secret) => secret.reveal()));
    const { SecretList = [] } = await sandbox.aws.secretsManager.send(new ListSecretsCommand({}));
    for (const { Name } of SecretList) {
      const { Versions = [] } = await sandbox.aws.secretsManager.send(
        new ListSecretVersionIdsCommand({ SecretId: Name, IncludeDeprecated: true }),
      );
      for (const { VersionId } of Versions) {
        const { SecretString = '' } = await sandbox.aws.secretsManager.send(
          new GetSecretValueCommand({ SecretId: Name, VersionId }),
        );
        values.add(SecretString);
        try {
          const parsed = JSON.parse(SecretString) as Record<string, unknown>;
          for (const key of ['client_secret', 'secret']) {
            if (typeof parsed[key] === 'string') values.add(parsed[key]);
          }
        } catch {
          // not JSON: the whole value is the secret
        }
      }
    }

    // Act
    const output = printed.join('\n');

    // Assess
    expect(values.size).toBeGreaterThan(5);
    expect(output.length).toBeGreaterThan(1000);
    for (const value of values)
      expect(output.includes(value), `a secret ending …${value.slice(-4)}`).toBe(false);
    expect(output).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});
