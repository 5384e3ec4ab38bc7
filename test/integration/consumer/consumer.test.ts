import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createM2MCredentials,
  httpTokenEndpoint,
  type M2MCredentials,
  parseSecretString,
  TokenRequestError,
  TokenVerificationError,
} from '#consumer/index.js';
import type { RotatorEvent } from '#core/events.js';
import { scanForSecrets } from '#sandbox/demo/leakScan.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';

/**
 * The consumer library against the sandbox: the real state machine, the health aggregator behind the
 * template's rule, Secrets Manager in moto, the Stytch emulator. Each test rotates its own client.
 */

let sandbox: Sandbox;
let savedEnv: { endpoint: string | undefined; region: string | undefined };
const listeners = new Set<M2MCredentials>();
const logs: string[] = [];
const logger = {
  warn: (message: string, attributes?: Record<string, unknown>) =>
    logs.push(JSON.stringify({ message, ...attributes })),
};

beforeAll(async () => {
  savedEnv = { endpoint: process.env.AWS_ENDPOINT_URL, region: process.env.AWS_REGION };
  sandbox = await Sandbox.start({
    config: sampleSandboxConfig(),
    say: () => undefined,
    // The services' event subscription: every rotator event reaches every credentials object.
    onRotatorEvent: (event: RotatorEvent) => {
      for (const credentials of listeners) void credentials.onRotatorEvent(event).catch(() => undefined);
    },
  });
  process.env.AWS_ENDPOINT_URL = sandbox.awsEndpoint;
  process.env.AWS_REGION = 'us-east-1';
}, 60_000);

afterAll(async () => {
  for (const credentials of listeners) await credentials.close();
  await sandbox?.stop();
  for (const [name, value] of [
    ['AWS_ENDPOINT_URL', savedEnv.endpoint],
    ['AWS_REGION', savedEnv.region],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function consumer(
  clientId: string,
  name: string,
  options: { listen?: boolean; brokenVerify?: boolean; poll?: number } = {},
) {
  const http = httpTokenEndpoint();
  const credentials = createM2MCredentials({
    secretId: `stytch/m2m/${clientId}`,
    consumerName: name,
    secretsManager: sandbox.aws.secretsManager,
    // The service's own identity: its reports are signed as this consumer and sent with its source
    // (the library's default EventBridge client, pointed at the sandbox by AWS_ENDPOINT_URL).
    credentials: () => sandbox.consumerCredentials(name),
    eventBusName: sandbox.eventBusName,
    // Every call goes to the token endpoint, so a secret that stopped working would show.
    tokenSkewSeconds: 86_400,
    pollIntervalMs: options.poll ?? 0,
    logger,
    ...(options.brokenVerify === true
      ? {
          tokens: {
            mint: (creds, scopes) => http.mint(creds, scopes),
            verify: async () => {
              throw new TokenVerificationError('this service rejects tokens of the new secret');
            },
          },
        }
      : {}),
  });
  if (options.listen !== false) listeners.add(credentials);
  return credentials;
}

/** Requests tokens from `workers` loops until `stop` resolves; counts what failed. */
function traffic(credentials: readonly M2MCredentials[], workers: number) {
  let running = true;
  const counts = { requests: 0, failed: 0 };
  const loops = Array.from({ length: workers }, async (_, index) => {
    const credential = credentials[index % credentials.length];
    while (running && credential !== undefined) {
      counts.requests += 1;
      await credential.accessToken().catch(() => {
        counts.failed += 1;
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
  return {
    counts,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

async function rotate(clientId: string) {
  const { executionArn = '' } = await sandbox.aws.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: sandbox.executor.stateMachineArn,
      input: JSON.stringify({ clientId, trigger: 'manual', requestedBy: 'consumer-test' }),
    }),
  );
  const description = await sandbox.executor.waitForExecution(executionArn);
  await sandbox.settle();
  const outcome = sandbox.events
    .filter((event) => (event.detail as { clientId?: string }).clientId === clientId)
    .map((event) => event.detailType)
    .filter(
      (type) => type === 'Rotation Completed' || type === 'Rotation Cancelled' || type === 'Rotation Failed',
    )
    .at(-1);
  return { description, outcome };
}

async function secretOf(clientId: string, stage: string) {
  const { SecretString } = await sandbox.aws.secretsManager.send(
    new GetSecretValueCommand({ SecretId: `stytch/m2m/${clientId}`, VersionStage: stage }),
  );
  return parseSecretString(clientId, SecretString);
}

describe('Consumer library in the sandbox', () => {
  it('keeps every request working while a rotation completes on its healthy reports', async () => {
    // Prepare
    const clientId = 'm2m-client-test-billing-worker';
    const before = await secretOf(clientId, 'AWSCURRENT');
    const services = [consumer(clientId, 'billing-api'), consumer(clientId, 'invoice-worker')];
    await Promise.all(services.map((service) => service.accessToken()));
    const load = traffic(services, 20);

    // Act
    const { description, outcome } = await rotate(clientId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const counts = await load.stop();

    // Assess
    expect(description.status).toBe('SUCCEEDED');
    expect(outcome).toBe('Rotation Completed');
    expect(counts.requests).toBeGreaterThan(40);
    expect(counts.failed).toBe(0);
    const after = await secretOf(clientId, 'AWSCURRENT');
    for (const service of services) {
      expect((await service.current()).clientSecret.equals(after.clientSecret)).toBe(true);
    }
    const oldRefused = await httpTokenEndpoint()
      .mint(before, [])
      .catch((error: unknown) => error);
    expect(oldRefused).toBeInstanceOf(TokenRequestError);
    expect((oldRefused as TokenRequestError).invalidClient).toBe(true);
  });

  it('reports unhealthy when the pending secret does not work for it, and the rotation is cancelled', async () => {
    // Prepare
    const clientId = 'm2m-client-test-reporting';
    const before = await secretOf(clientId, 'AWSCURRENT');
    const healthy = consumer(clientId, 'reporting-job');
    const broken = consumer(clientId, 'audit-export', { brokenVerify: true });
    const load = traffic([healthy, broken], 10);

    // Act
    const { outcome } = await rotate(clientId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const counts = await load.stop();

    // Assess: cancelled; the one that had switched to the pending secret is back on the current one.
    expect(outcome).toBe('Rotation Cancelled');
    expect(counts.failed).toBe(0);
    expect(await healthy.current()).toMatchObject({ stage: 'AWSCURRENT' });
    expect((await healthy.current()).clientSecret.equals(before.clientSecret)).toBe(true);
    expect((await broken.current()).clientSecret.equals(before.clientSecret)).toBe(true);
  });

  it('takes part by polling DescribeSecret alone, with no events handed to it', async () => {
    // Prepare
    const clientId = 'm2m-client-test-search-indexer';
    const indexer = consumer(clientId, 'indexer', { listen: false, poll: 100 });
    await indexer.accessToken();

    // Act
    const { outcome } = await rotate(clientId);

    // Assess
    expect(outcome).toBe('Rotation Completed');
    expect(indexer.stats.reports).toBe(1);
    await indexer.accessToken();
    expect(
      (await indexer.current()).clientSecret.equals((await secretOf(clientId, 'AWSCURRENT')).clientSecret),
    ).toBe(true);
    await indexer.close();
  });

  it('wrote no secret into anything the sandbox captured or the library logged', async () => {
    const captured = await sandbox.captured();
    captured.push({ source: 'consumer logs', text: logs.join('\n') });
    const scan = scanForSecrets(captured, sandbox.secrets);
    expect(scan.hitSources).toEqual([]);
    expect(scan.secretHits).toBe(0);
    expect(scan.scannedBytes).toBeGreaterThan(10_000);
  });
});
