import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm start` as a newcomer runs it: a real process from the repo root, read from outside. One run
 * with `--json --keep` is checked for the documented document, then inspected through its endpoints
 * with SDK clients we did not write, then stopped with SIGTERM.
 */

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
// Resolved once with the full PATH, so a test can run npm with a PATH that lacks moto and Python.
const npmPath = spawnSync('sh', ['-c', 'command -v npm']).stdout.toString().trim() || 'npm';

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function npmStart(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Run {
  const child = spawn(npmPath, ['start', '--', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, FORCE_COLOR: '0' },
  });
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    run.stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    run.stderr += chunk;
  });
  return run;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
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

interface Report {
  rotations: {
    scenario: string;
    clientId: string;
    trigger: string;
    outcome: string;
    steps: { name: string; ms: number }[];
    consumers: { name: string; healthy: boolean }[];
  }[];
  tokens: { requests: number; failed: number };
  leakScan: { scannedBytes: number; secretHits: number };
  endpoints: {
    aws: string;
    stytch: string;
    githubWebhook: { url: string; secret: string };
    githubApi: string;
    resourceServer: string;
    tokenRevocations: string;
    credentials: {
      operator: { accessKeyId: string; secretAccessKey: string };
      consumers: Record<string, { accessKeyId: string; secretAccessKey: string }>;
    };
  };
}

describe('npm start -- --json --keep (a real process)', () => {
  let run: Run;
  let report: Report;
  let motoEndpoint: string;

  beforeAll(async () => {
    run = npmStart(['--json', '--keep']);
    await until(() => run.stdout.includes('\n') || run.child.exitCode !== null, 110_000, 'the JSON document');
    expect(run.child.exitCode, run.stderr).toBeNull();
    report = JSON.parse(run.stdout) as Report;
    motoEndpoint = /AWS emulator \(moto_server\) on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr)?.[1] ?? '';
  }, 120_000);

  afterAll(async () => {
    if (run.child.exitCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
  });

  it('prints exactly one JSON document on stdout, progress on stderr', () => {
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('scenario a');
    expect(run.stderr).toContain('Time is compressed');
  });

  it('names the demo API and the revocation document among the endpoints', async () => {
    expect(report.endpoints.resourceServer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(report.endpoints.tokenRevocations).toBe(
      `${report.endpoints.aws}/stytch-m2m-rotator-token-revocations/token-revocations.json`,
    );
    const anonymous = await fetch(`${report.endpoints.resourceServer}/whoami`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ reason: 'missing_token' });
  });

  it('runs the scenarios in the order they are named, and ends by saying what to try next (stderr)', () => {
    expect(report.rotations.map((rotation) => rotation.scenario)).toEqual(['a', 'b', 'c', 'd']);
    const started = [...run.stderr.matchAll(/── scenario (\w)/g)].map((match) => match[1]);
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(run.stderr).toContain('Next, in another terminal: paste the export lines above');
    expect(run.stderr).toMatch(/^ {4}npx rotator status$/m);
    expect(run.stdout).not.toContain('npx rotator');
  });

  it('reports the four scenarios with their documented outcomes', () => {
    const byScenario = Object.fromEntries(report.rotations.map((rotation) => [rotation.scenario, rotation]));
    expect(Object.keys(byScenario).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(byScenario.a).toMatchObject({ trigger: 'schedule', outcome: 'completed' });
    expect(byScenario.b).toMatchObject({ trigger: 'schedule', outcome: 'cancelled' });
    expect(byScenario.c).toMatchObject({ trigger: 'leak', outcome: 'completed' });
    expect(byScenario.d).toMatchObject({ trigger: 'schedule', outcome: 'completed' });
    expect(byScenario.b?.consumers).toEqual([
      { name: 'reporting-job', healthy: true },
      { name: 'audit-export', healthy: false },
    ]);
    expect(byScenario.c?.consumers).toEqual([
      { name: 'payments-api', healthy: true },
      { name: 'fraud-scorer', healthy: false },
    ]);
    for (const rotation of report.rotations) {
      expect(rotation.steps.map((step) => step.name)).toContain('StartRotation');
      for (const step of rotation.steps) expect(step.ms).toBeGreaterThanOrEqual(0);
    }
    // The leak deadline passed: the rotation lasted, up to the end of its wait, about as long as
    // the (shortened, 6 s) deadline, which runs from its start (a slow start leaves a shorter wait).
    const steps = byScenario.c?.steps ?? [];
    const untilWaitEnded = steps
      .slice(0, steps.findIndex((step) => step.name === 'AwaitConsumers') + 1)
      .reduce((sum, step) => sum + step.ms, 0);
    expect(untilWaitEnded).toBeGreaterThan(4000);
  });

  it('breaks no token request and leaks no secret', () => {
    expect(report.tokens.requests).toBeGreaterThan(50);
    expect(report.tokens.failed).toBe(0);
    expect(report.leakScan.secretHits).toBe(0);
    expect(report.leakScan.scannedBytes).toBeGreaterThan(100_000);
  });

  it('keeps the end state inspectable through the printed AWS endpoint', async () => {
    const config = {
      endpoint: report.endpoints.aws,
      region: 'us-east-1',
      credentials: { accessKeyId: 'outside', secretAccessKey: 'outside' },
    };
    const sfn = new SFNClient(config);
    const secrets = new SecretsManagerClient(config);
    const { executions = [] } = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:StytchM2MRotator',
      }),
    );
    expect(executions.map((execution) => execution.status)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    const billing = await secrets.send(
      new DescribeSecretCommand({ SecretId: 'stytch/m2m/m2m-client-test-billing-worker' }),
    );
    const stages = Object.values(billing.VersionIdsToStages ?? {}).flat();
    expect(stages).toContain('AWSCURRENT');
    expect(stages).toContain('AWSPREVIOUS');
    expect(stages).not.toContain('AWSPENDING');
    expect(await answers(`${report.endpoints.stytch}/v1/sessions/jwks/x`)).toBe(true);
    // The webhook answers a ping signed with the printed secret, as GitHub would send it.
    const ping = Buffer.from(JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }));
    const signature = `sha256=${createHmac('sha256', report.endpoints.githubWebhook.secret).update(ping).digest('hex')}`;
    const pong = await fetch(report.endpoints.githubWebhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'ping',
        'x-github-delivery': '11111111-2222-3333-4444-555555555555',
        'x-hub-signature-256': signature,
      },
      body: ping,
    });
    expect(pong.status).toBe(200);
    expect(await pong.json()).toEqual({ result: 'pong' });
    sfn.destroy();
    secrets.destroy();
  });

  it('hands out the operator’s and every consumer’s access key in the document, and prints only the operator’s', () => {
    // Prepare
    const { operator, consumers } = report.endpoints.credentials;

    // Assess
    expect(Object.keys(consumers).sort()).toEqual([
      'audit-export',
      'billing-api',
      'fraud-scorer',
      'indexer',
      'invoice-worker',
      'payments-api',
      'reporting-job',
    ]);
    const keys = [operator, ...Object.values(consumers)];
    expect(new Set(keys.map((key) => key.accessKeyId)).size).toBe(keys.length);
    for (const key of keys) expect(key.secretAccessKey.length).toBeGreaterThanOrEqual(20);
    expect(run.stderr).toContain(`AWS_ACCESS_KEY_ID=${operator.accessKeyId}`);
    expect(run.stderr).toContain(`AWS_SECRET_ACCESS_KEY=${operator.secretAccessKey}`);
    for (const consumer of Object.values(consumers))
      expect(run.stderr).not.toContain(consumer.secretAccessKey);
  });

  it('refuses, from outside, a report signed by one consumer for another, and an unknown access key', async () => {
    // Prepare
    const entry = {
      EventBusName: 'stytch-m2m-rotator',
      Source: 'stytch-m2m-rotator.consumer.invoice-worker',
      DetailType: 'Consumer Health Reported',
      Detail: JSON.stringify({
        clientId: 'm2m-client-test-billing-worker',
        consumer: 'invoice-worker',
        healthy: true,
      }),
    };
    const as = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new EventBridgeClient({
        endpoint: report.endpoints.aws,
        region: 'us-east-1',
        credentials,
        maxAttempts: 1,
      });
    const billingApi = as(
      report.endpoints.credentials.consumers['billing-api'] ?? { accessKeyId: '', secretAccessKey: '' },
    );
    const stranger = as({ accessKeyId: 'outside', secretAccessKey: 'outside' });

    // Act
    const errors = await Promise.all(
      [billingApi, stranger].map((client) =>
        client.send(new PutEventsCommand({ Entries: [entry] })).then(
          () => new Error('accepted'),
          (error: unknown) => error,
        ),
      ),
    );
    billingApi.destroy();
    stranger.destroy();

    // Assess
    expect(errors.map((error) => (error as Error).name)).toEqual([
      'AccessDeniedException',
      'UnrecognizedClientException',
    ]);
  });

  it('never prints the GitHub API emulator token: says where it is kept, with its last four', async () => {
    // Prepare: the token, read from outside through the printed AWS endpoint.
    const secretName = 'stytch-m2m-rotator/github-token';
    const secrets = new SecretsManagerClient({
      endpoint: report.endpoints.aws,
      region: 'us-east-1',
      credentials: { accessKeyId: 'outside', secretAccessKey: 'outside' },
    });

    // Act
    const { SecretString: token = '' } = await secrets.send(
      new GetSecretValueCommand({ SecretId: secretName }),
    );
    secrets.destroy();

    // Assess
    expect(token.length).toBeGreaterThan(8);
    expect(run.stdout).not.toContain(token);
    expect(run.stderr).not.toContain(token);
    expect(run.stderr).toContain(`token in Secrets Manager under ${secretName} (…${token.slice(-4)})`);
  });

  it('contains a leak past the secret: a token minted before `rotator leak report` is refused by the demo API within 15 s, one minted with the new secret is accepted', async () => {
    // Prepare: the printed export lines, as pasted into another terminal
    const exported = Object.fromEntries(
      [...run.stderr.matchAll(/^ {2}export (.+)$/gm)].flatMap((line) =>
        (line[1] ?? '')
          .split(' ')
          .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
      ),
    ) as Record<string, string>;
    const clientId = 'm2m-client-test-billing-worker';
    const secrets = new SecretsManagerClient({ endpoint: report.endpoints.aws, region: 'us-east-1' });
    const readCurrent = async () => {
      const { SecretString = '{}' } = await secrets.send(
        new GetSecretValueCommand({ SecretId: `stytch/m2m/${clientId}` }),
      );
      return JSON.parse(SecretString) as { client_id: string; client_secret: string; token_url: string };
    };
    // The OAuth client credentials grant, as any HTTP client sends it.
    const mint = async (secret: { client_id: string; client_secret: string; token_url: string }) => {
      const response = await fetch(secret.token_url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: secret.client_id,
          client_secret: secret.client_secret,
        }),
      });
      const answer = (await response.json()) as { access_token: string };
      if (answer.access_token === undefined)
        throw new Error(`mint: ${response.status} ${JSON.stringify(answer)}`);
      return answer.access_token;
    };
    const whoami = async (token: string) => {
      const response = await fetch(`${report.endpoints.resourceServer}/whoami`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const leaked = await readCurrent();
    const stolen = await mint(leaked);
    const accepted = await whoami(stolen);
    expect(accepted, JSON.stringify(accepted)).toMatchObject({ status: 200, body: { clientId } });

    // Act
    const reported = spawnSync(
      process.execPath,
      ['bin/rotator.mjs', 'leak', 'report', '--client-id', clientId, '--reference', 'outside check'],
      { cwd: repoRoot, env: { ...process.env, ...exported }, encoding: 'utf8' },
    );
    const t0 = Date.now();
    let refused = await whoami(stolen);
    while (refused.status === 200 && Date.now() - t0 < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      refused = await whoami(stolen);
    }
    const refusedAfterMs = Date.now() - t0;
    const renewed = await readCurrent();
    const fresh = await whoami(await mint(renewed));
    secrets.destroy();

    // Assess
    expect(reported.status, reported.stderr).toBe(0);
    expect(refused).toMatchObject({ status: 401, body: { reason: 'token_revoked' } });
    expect(refusedAfterMs).toBeLessThan(15_000);
    expect(renewed.client_secret).not.toBe(leaked.client_secret);
    expect(fresh).toMatchObject({ status: 200, body: { clientId } });
  });

  it('stops on SIGTERM sent to npm: says so, exits 143 and leaves no process running', async () => {
    expect(motoEndpoint).not.toBe('');
    const npmPid = run.child.pid ?? 0;
    run.child.kill('SIGTERM');
    // npm passes the signal on to the script's process, and ends as it ends.
    expect(await run.exited).toBe(143);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      'npm start: stopped by SIGTERM; everything it started (moto_server, the emulators, the gateway, the webhook) is stopped',
    );
    await until(
      () => !spawnSync('pgrep', ['-f', `moto_server.*${new URL(motoEndpoint).port}`]).stdout.length,
      10_000,
      'moto to exit',
    );
    expect(await answers(`${motoEndpoint}/moto-api/`)).toBe(false);
    expect(await answers(report.endpoints.aws)).toBe(false);
    expect(await answers(report.endpoints.stytch)).toBe(false);
    expect(
      spawnSync('pgrep', ['-P', String(npmPid)])
        .stdout.toString()
        .trim(),
    ).toBe('');
  });
});

describe('npm start with bad input', () => {
  it('answers an unknown flag with one line and exit 2', async () => {
    const run = npmStart(['--frobnicate']);
    expect(await run.exited).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([
      "npm start: Unknown option '--frobnicate' (see npm start -- --help)",
    ]);
  });

  it('answers an unreachable --stytch-url with one line and exit 2', async () => {
    const run = npmStart([
      '--stytch-url',
      'http://127.0.0.1:1',
      '--stytch-project-id',
      'project-test-00000000-0000-4000-8000-000000000000',
      '--stytch-project-secret',
      'secret-test-not-a-real-one',
    ]);
    expect(await run.exited).toBe(2);
    expect(run.stderr.trim()).toBe('npm start: --stytch-url http://127.0.0.1:1 does not answer');
    expect(run.stderr).not.toContain('secret-test-not-a-real-one');
  });

  it('answers half the Stytch flags with one line and exit 2', async () => {
    const run = npmStart(['--stytch-url', 'http://127.0.0.1:1']);
    expect(await run.exited).toBe(2);
    expect(run.stderr.trim()).toBe(
      'npm start: --stytch-url, --stytch-project-id and --stytch-project-secret go together',
    );
  });

  it('says what to install, in one line with exit 2, when there is neither moto_server nor Python', async () => {
    // Prepare: a PATH holding only this Node and a shell for npm (npm adds node_modules/.bin itself).
    const shellOnly = mkdtempSync(join(tmpdir(), 'only-sh-'));
    symlinkSync('/bin/sh', join(shellOnly, 'sh'));
    const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${shellOnly}` };

    // Act
    const run = npmStart(['--json'], env);

    // Assess
    expect(await run.exited).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(
      /moto_server is not on PATH and there is no Python to install it: install Python 3/,
    );
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('explains itself with --help', async () => {
    const run = npmStart(['--help']);
    expect(await run.exited).toBe(0);
    expect(run.stdout).toContain('--aws-endpoint URL');
    expect(run.stdout).toContain('leak event, one consumer never reports');
  });
});
