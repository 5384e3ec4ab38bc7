import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { consumerSource, EVENT_SOURCES } from '#core/events.js';
import type { RotationRecord } from '#core/ports.js';
import type { AccessKey } from '#sandbox/gateway/index.js';
import { awsClientConfig, Sandbox } from '#sandbox/world/Sandbox.js';
import { type SandboxClient, sampleSandboxConfig, withClients } from '#sandbox/world/sandboxConfig.js';

/**
 * Issue 13's "done when", from outside, against one sandbox: only a consumer's own principal may
 * report for it, only the operator may report a leak by client id. Every forgery goes through the
 * gateway as any SDK would send it, signed with real credentials of the wrong principal.
 */

/** Consumer A, the only consumer of the client rotated here. */
const A = 'billing-api';
/** Consumer B, a consumer of another client. */
const B = 'reporting-job';

/** What `call` rejects with (an Error saying so when it resolves). */
function rejectionOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => new Error('the call resolved'),
    (error: unknown) => error,
  );
}

async function waitFor<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Runs a boto3 script (an SDK we did not write) with the gateway as its endpoint; its stdout as
 * JSON. Asynchronously: the gateway answering it runs in this process.
 */
async function boto3(
  endpoint: string,
  script: string,
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  try {
    const { stdout } = await promisify(execFile)('python3', ['-c', script], {
      env: { ...process.env, GATEWAY: endpoint, AWS_DEFAULT_REGION: 'us-east-1', ...env },
      timeout: 60_000,
    });
    return JSON.parse(stdout) as Record<string, unknown>;
  } catch (error) {
    throw new Error(
      `python3 with boto3 (it comes with moto) failed: ${(error as { stderr?: string }).stderr ?? String(error)}`,
    );
  }
}

describe('Trust boundary: the sandbox gateway refuses what AWS IAM refuses (issue 13)', () => {
  let sandbox: Sandbox;
  let ledger: DynamoLedger;
  let clientId: string;
  let otherClientId: string;
  const clients: EventBridgeClient[] = [];
  const as = (credentials: AccessKey): EventBridgeClient => {
    const client = new EventBridgeClient({
      ...awsClientConfig(sandbox.awsEndpoint, credentials),
      maxAttempts: 1,
    });
    clients.push(client);
    return client;
  };
  let outsider: AccessKey;

  beforeAll(async () => {
    const sample = sampleSandboxConfig();
    const [billing, reporting] = ['m2m-client-test-billing-worker', 'm2m-client-test-reporting'].map((id) => {
      const client = sample.clients.find((candidate) => candidate.clientId === id);
      if (client === undefined) throw new Error(`the sample config has no ${id}`);
      return client;
    }) as [SandboxClient, SandboxClient];
    const config = withClients(sample, [
      // A long deadline: the rotation must still be waiting after every forgery.
      {
        ...billing,
        policy: { ...billing.policy, expectedConsumers: [A], schedule: { deadlineSeconds: 86_400 } },
      },
      { ...reporting, policy: { ...reporting.policy, expectedConsumers: [B] } },
    ]);
    sandbox = await Sandbox.start({ config, say: () => {} });
    clientId = sandbox.config.clients[0]?.clientId ?? '';
    otherClientId = sandbox.config.clients[1]?.clientId ?? '';
    ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
    // An IAM user with no tag and no policy, created through the gateway with boto3: the gateway
    // learns its secret key from the CreateAccessKey answer it passes on.
    outsider = (await boto3(
      sandbox.awsEndpoint,
      `
import boto3, json, os
iam = boto3.client('iam', endpoint_url=os.environ['GATEWAY'], aws_access_key_id='admin', aws_secret_access_key='admin')
iam.create_user(UserName='outsider')
key = iam.create_access_key(UserName='outsider')['AccessKey']
print(json.dumps({'accessKeyId': key['AccessKeyId'], 'secretAccessKey': key['SecretAccessKey']}))
`,
    )) as unknown as AccessKey;
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await sandbox?.stop();
  });

  it('gives the operator and every consumer of the sandbox’s clients its own access key', () => {
    // Act
    const { operator, consumers } = sandbox.credentials;

    // Assess
    expect(Object.keys(consumers).sort()).toEqual([A, B]);
    const ids = [operator.accessKeyId, ...Object.values(consumers).map((key) => key.accessKeyId)];
    expect(new Set(ids).size).toBe(3);
    expect(sandbox.cliEnv()).toMatchObject({
      AWS_ACCESS_KEY_ID: operator.accessKeyId,
      AWS_SECRET_ACCESS_KEY: operator.secretAccessKey,
    });
  });

  it('refuses A’s reports signed by anyone but A, keeps the rotation waiting, then completes it on A’s own report', async () => {
    // Prepare: a scheduled rotation of A's client, waiting for A.
    const schedule = await sandbox.rotationSchedule(clientId);
    const { executionArn = '' } = await sandbox.aws.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: sandbox.executor.stateMachineArn,
        input: schedule?.input,
      }),
    );
    const pending = await waitFor(async () => {
      const lock = await ledger.getLock(clientId);
      const record = lock === null ? null : await ledger.getRotation(clientId, lock.rotationId);
      return record?.status === 'pending' && record.pendingVersionId !== undefined ? record : undefined;
    }, 'the rotation to be pending');
    const report = (healthy: boolean, source = consumerSource(A)): PutEventsRequestEntry => ({
      EventBusName: sandbox.eventBusName,
      Source: source,
      DetailType: 'Consumer Health Reported',
      Detail: JSON.stringify({
        clientId,
        rotationId: pending.rotationId,
        pendingVersionId: pending.pendingVersionId,
        consumer: A,
        healthy,
      }),
    });
    const { operator, consumers } = sandbox.credentials;
    const forgers = {
      'consumer B': as(consumers[B] as AccessKey),
      operator: as(operator),
      'an untagged IAM user': as(outsider),
    };
    const madeUp = as({
      accessKeyId: 'AKIAFORGEDFORGED0000',
      secretAccessKey: 'forged/forged/forged/forged/forged/00000',
    });

    // Act
    const refusals: Record<string, unknown> = {};
    for (const [who, client] of Object.entries(forgers)) {
      for (const healthy of [true, false]) {
        refusals[`${who}, healthy=${healthy}`] = await rejectionOf(
          client.send(new PutEventsCommand({ Entries: [report(healthy)] })),
        );
      }
    }
    const madeUpRefusals = await Promise.all(
      [true, false].map((healthy) =>
        rejectionOf(madeUp.send(new PutEventsCommand({ Entries: [report(healthy)] }))),
      ),
    );
    // B may speak as B: the bus takes it, the aggregator refuses it (B does not speak for A).
    const asItself = await as(consumers[B] as AccessKey).send(
      new PutEventsCommand({ Entries: [report(false, consumerSource(B))] }),
    );
    await sandbox.settle();
    const afterForgeries = (await ledger.getRotation(clientId, pending.rotationId)) as RotationRecord;
    const stillRunning = await sandbox.aws.sfn.send(new DescribeExecutionCommand({ executionArn }));

    const own = await as(consumers[A] as AccessKey).send(new PutEventsCommand({ Entries: [report(true)] }));
    await sandbox.settle();
    const done = await sandbox.executor.waitForExecution(executionArn);
    await sandbox.settle();

    // Assess
    for (const [who, error] of Object.entries(refusals)) {
      expect(error, who).toMatchObject({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
      expect((error as Error).message, who).toMatch(
        /^User: arn:aws:iam::123456789012:user\/.+ is not authorized to perform: events:PutEvents on resource: arn:aws:events:us-east-1:123456789012:event-bus\/stytch-m2m-rotator/,
      );
    }
    // AWS answers keys it never issued so, before any policy is looked at.
    for (const error of madeUpRefusals) {
      expect(error).toMatchObject({
        name: 'UnrecognizedClientException',
        $metadata: { httpStatusCode: 400 },
      });
    }
    expect(asItself.FailedEntryCount).toBe(0);
    expect(stillRunning.status).toBe('RUNNING');
    expect(afterForgeries.status).toBe('pending');
    expect(afterForgeries.reports).toEqual({});
    expect(afterForgeries.refusedReports).toEqual([
      expect.objectContaining({ claimed: A, source: consumerSource(B), healthy: false }),
    ]);
    expect(own.FailedEntryCount).toBe(0);
    expect(done.status).toBe('SUCCEEDED');
    const completed = sandbox.events.find(
      (event) =>
        event.detailType === 'Rotation Completed' &&
        (event.detail as { rotationId?: string }).rotationId === pending.rotationId,
    );
    expect(completed?.detail).toMatchObject({ reason: 'all_consumers_healthy' });
  });

  it('refuses a leak report by client id signed by a consumer, and accepts the operator’s (boto3 signs it)', async () => {
    // Prepare
    const leak = (source: string): PutEventsRequestEntry => ({
      EventBusName: sandbox.eventBusName,
      Source: source,
      DetailType: 'Secret Leak Detected',
      Detail: JSON.stringify({ clientId: otherClientId, source: 'trust-boundary test', reference: 'test' }),
    });
    const consumer = as(sandbox.credentials.consumers[B] as AccessKey);
    const before = new Set(sandbox.executor.listExecutions().map((execution) => execution.executionArn));

    // Act
    const asOperatorSource = await rejectionOf(
      consumer.send(new PutEventsCommand({ Entries: [leak(EVENT_SOURCES.operator)] })),
    );
    const asOwnSource = await rejectionOf(
      consumer.send(new PutEventsCommand({ Entries: [leak(consumerSource(B))] })),
    );
    await sandbox.settle();
    const afterRefusals = sandbox.executor
      .listExecutions()
      .filter((execution) => !before.has(execution.executionArn));
    const { operator } = sandbox.credentials;
    const accepted = await boto3(
      sandbox.awsEndpoint,
      `
import boto3, json, os
events = boto3.client('events', endpoint_url=os.environ['GATEWAY'])
answer = events.put_events(Entries=[json.loads(os.environ['ENTRY'])])
print(json.dumps({'FailedEntryCount': answer['FailedEntryCount']}))
`,
      {
        AWS_ACCESS_KEY_ID: operator.accessKeyId,
        AWS_SECRET_ACCESS_KEY: operator.secretAccessKey,
        ENTRY: JSON.stringify(leak(EVENT_SOURCES.operator)),
      },
    );
    await sandbox.settle();
    const started = await waitFor(
      async () =>
        sandbox.executor
          .listExecutions()
          .find((execution) => !before.has(execution.executionArn) && execution.name.startsWith('leak-')),
      'the leak rotation to start',
    );

    // Assess
    expect(asOperatorSource).toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(asOwnSource).toMatchObject({ name: 'AccessDeniedException' });
    expect(afterRefusals).toEqual([]);
    expect(accepted).toEqual({ FailedEntryCount: 0 });
    expect(started.name).toMatch(/^leak-/);
  });
});
