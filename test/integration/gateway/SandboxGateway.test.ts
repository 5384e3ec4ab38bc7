import { randomUUID } from 'node:crypto';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  ExecutionDoesNotExist,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  InvalidExecutionInput,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  TaskDoesNotExist,
} from '@aws-sdk/client-sfn';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccessKey, callIam, SandboxGateway } from '#sandbox/gateway/index.js';
import type { LocalExecutor } from '#sandbox/localExecutor/index.js';
import { type MotoServer, startMoto } from '../../support/moto.js';
import {
  createGatewayFixtureWorld,
  type GatewayFixtureWorld,
  PING_DETAIL_TYPE,
  PING_FUNCTION,
  PUBLISHER_POLICY,
  START_DETAIL_TYPE,
  START_KIND,
} from './gatewayFixture.js';

/** The bus in moto; deliberately not the template's `EventBusName`, which the gateway never reads. */
const MOTO_BUS = 'sandbox-gateway-bus';
const SOURCE = 'test.sandbox-gateway';

/** Calls `read` until `done` holds for its answer (or fails after `timeoutMs`). */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** IAM (moto's) at `endpoint`: the gateway's, or moto's own. */
function iamAt(endpoint: string, dispatcher: Agent) {
  return (action: string, params: Record<string, string> = {}) =>
    callIam({ endpoint, region: 'us-east-1', dispatcher }, action, params);
}

/** The access key in a CreateAccessKey answer. */
function accessKeyOf(xml: string): AccessKey {
  const value = (tag: string) => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1] ?? '';
  return { accessKeyId: value('AccessKeyId'), secretAccessKey: value('SecretAccessKey') };
}

/** What `call` rejects with (an Error saying so when it resolves). */
function rejectionOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => new Error('the call resolved'),
    (error: unknown) => error,
  );
}

describe('Class: SandboxGateway (real SDK v3 clients, moto behind)', () => {
  let moto: MotoServer;
  let world: GatewayFixtureWorld;
  let executor: LocalExecutor;
  let gateway: SandboxGateway;
  let sfn: SFNClient;
  let eventBridge: EventBridgeClient;
  let secrets: SecretsManagerClient;
  let publisher: AccessKey;
  const iamDispatcher = new Agent();
  const pings: unknown[] = [];
  const clientConfig = (credentials: AccessKey) => ({
    endpoint: gateway.url,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
  });

  const describeExecution = (executionArn: string): Promise<DescribeExecutionOutput> =>
    sfn.send(new DescribeExecutionCommand({ executionArn }));
  const untilStatus = (executionArn: string, status: ExecutionStatus) =>
    pollUntil(
      () => describeExecution(executionArn),
      (answer) => answer.status === status,
    );
  const executionArns = async (): Promise<string[]> => {
    const { executions = [] } = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: executor.stateMachineArn }),
    );
    return executions.map((execution) => execution.executionArn ?? '');
  };
  const putEvent = (detailType: string, detail: Record<string, unknown>) =>
    eventBridge.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: MOTO_BUS, Source: SOURCE, DetailType: detailType, Detail: JSON.stringify(detail) },
        ],
      }),
    );

  beforeAll(async () => {
    moto = await startMoto();
    // The gateway puts the template's rules on this bus, so it has to exist first.
    await moto.clients.eventBridge().send(new CreateEventBusCommand({ Name: MOTO_BUS }));
    world = createGatewayFixtureWorld();
    executor = world.executor;
    // The publisher: an IAM user in moto holding the template's PublisherPolicy. moto's own document
    // of that name allows everything; the gateway applies the template's statement instead.
    const motoIam = iamAt(moto.endpoint, iamDispatcher);
    await motoIam('CreateUser', { UserName: 'publisher' });
    await motoIam('CreatePolicy', {
      PolicyName: PUBLISHER_POLICY,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      }),
    });
    await motoIam('AttachUserPolicy', {
      UserName: 'publisher',
      PolicyArn: `arn:aws:iam::123456789012:policy/${PUBLISHER_POLICY}`,
    });
    publisher = accessKeyOf(await motoIam('CreateAccessKey', { UserName: 'publisher' }));
    gateway = await SandboxGateway.start({
      motoEndpoint: moto.endpoint,
      executor,
      template: world.template,
      eventBusName: MOTO_BUS,
      lambdaTargets: {
        [PING_FUNCTION]: async (event) => {
          pings.push(event);
        },
      },
      putEvents: { accessKeys: [publisher] },
    });
    // moto checks no credentials: only PutEvents needs the publisher's.
    const config = clientConfig({ accessKeyId: 'x', secretAccessKey: 'x' });
    sfn = new SFNClient(config);
    eventBridge = new EventBridgeClient(clientConfig(publisher));
    secrets = new SecretsManagerClient(config);
  });

  afterAll(async () => {
    sfn?.destroy();
    eventBridge?.destroy();
    secrets?.destroy();
    await gateway?.stop();
    await executor?.close();
    await moto?.stop();
    await iamDispatcher.close();
  });

  it('runs StartExecution → DescribeExecution → SendTaskSuccess → SUCCEEDED, with its history', async () => {
    // Arrange
    const id = `ok-${randomUUID()}`;
    const { executionArn, startDate } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: executor.stateMachineArn, input: JSON.stringify({ id }) }),
    );
    const token = await world.tokenFor(id);
    const running = await describeExecution(executionArn ?? '');

    // Act
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ healthy: ['svc-a'] }) }),
    );
    const done = await untilStatus(executionArn ?? '', 'SUCCEEDED');
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));

    // Assess
    expect(startDate).toBeInstanceOf(Date);
    expect(running).toMatchObject({ executionArn, status: 'RUNNING', input: JSON.stringify({ id }) });
    expect(running.startDate).toBeInstanceOf(Date);
    expect(JSON.parse(done.output ?? 'null')).toEqual({ id, callback: { healthy: ['svc-a'] } });
    expect(done.stopDate).toBeInstanceOf(Date);
    const types = events.map((event) => event.type);
    expect(types).toEqual(
      expect.arrayContaining(['ExecutionStarted', 'TaskScheduled', 'TaskSucceeded', 'ExecutionSucceeded']),
    );
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    for (const event of events) expect(event.timestamp).toBeInstanceOf(Date);
  });

  it('fails the execution with the error and cause of SendTaskFailure', async () => {
    // Arrange
    const id = `fail-${randomUUID()}`;
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: executor.stateMachineArn, input: JSON.stringify({ id }) }),
    );
    const token = await world.tokenFor(id);

    // Act
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'Unhealthy', cause: 'svc-b did not answer' }),
    );
    const done = await untilStatus(executionArn ?? '', 'FAILED');

    // Assess
    expect(done).toMatchObject({ status: 'FAILED', error: 'Unhealthy', cause: 'svc-b did not answer' });
    expect(done.output).toBeUndefined();
  });

  it('answers errors as the typed exceptions of the SDK', async () => {
    // Arrange
    const unknownExecution = executor.stateMachineArn
      .replace(':stateMachine:', ':execution:')
      .concat(':never-started');
    const otherStateMachine = `${executor.stateMachineArn}Other`;

    // Act
    const errors = await Promise.all(
      [
        sfn.send(new DescribeExecutionCommand({ executionArn: unknownExecution })),
        sfn.send(new StartExecutionCommand({ stateMachineArn: otherStateMachine, input: '{}' })),
        sfn.send(new SendTaskSuccessCommand({ taskToken: 'never-issued', output: '{}' })),
        sfn.send(
          new StartExecutionCommand({ stateMachineArn: executor.stateMachineArn, input: '{not json' }),
        ),
      ].map(rejectionOf),
    );

    // Assess
    expect(errors.map((error) => (error as Error).name)).toEqual([
      'ExecutionDoesNotExist',
      'StateMachineDoesNotExist',
      'TaskDoesNotExist',
      'InvalidExecutionInput',
    ]);
    // The SDK's own exception classes, as it deserialises AWS's `__type`.
    expect(errors[0]).toBeInstanceOf(ExecutionDoesNotExist);
    expect(errors[1]).toBeInstanceOf(StateMachineDoesNotExist);
    expect(errors[2]).toBeInstanceOf(TaskDoesNotExist);
    expect(errors[3]).toBeInstanceOf(InvalidExecutionInput);
    for (const error of errors) {
      expect(error).toMatchObject({ $fault: 'client', $metadata: { httpStatusCode: 400 } });
    }
  });

  it('lists the executions started, with statusFilter', async () => {
    // Arrange: one execution that ends, one still waiting for its callback.
    const endedId = `list-ended-${randomUUID()}`;
    const waitingId = `list-waiting-${randomUUID()}`;
    const ended = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: executor.stateMachineArn,
        input: JSON.stringify({ id: endedId }),
      }),
    );
    const waiting = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: executor.stateMachineArn,
        input: JSON.stringify({ id: waitingId }),
      }),
    );
    await sfn.send(new SendTaskSuccessCommand({ taskToken: await world.tokenFor(endedId), output: '{}' }));
    await untilStatus(ended.executionArn ?? '', 'SUCCEEDED');
    await world.tokenFor(waitingId);

    // Act
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: executor.stateMachineArn }));
    const succeeded = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: executor.stateMachineArn, statusFilter: 'SUCCEEDED' }),
    );
    const running = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: executor.stateMachineArn, statusFilter: 'RUNNING' }),
    );

    // Assess
    const arns = (answer: typeof all) => (answer.executions ?? []).map((execution) => execution.executionArn);
    expect(arns(all)).toEqual(expect.arrayContaining([ended.executionArn, waiting.executionArn]));
    expect(arns(succeeded)).toContain(ended.executionArn);
    expect(arns(succeeded)).not.toContain(waiting.executionArn);
    expect(arns(running)).toContain(waiting.executionArn);
    expect(arns(running)).not.toContain(ended.executionArn);
    expect((succeeded.executions ?? []).every((execution) => execution.status === 'SUCCEEDED')).toBe(true);
    expect((running.executions ?? []).every((execution) => execution.status === 'RUNNING')).toBe(true);
    const listed = (all.executions ?? []).find((execution) => execution.executionArn === ended.executionArn);
    expect(listed).toMatchObject({ stateMachineArn: executor.stateMachineArn, status: 'SUCCEEDED' });
    expect(listed?.startDate).toBeInstanceOf(Date);
  });

  it('starts the state machine with the transformed input for a PutEvents entry the rule matches', async () => {
    // Arrange
    const id = `event-${randomUUID()}`;
    const before = new Set(await executionArns());

    // Act
    const answer = await putEvent(START_DETAIL_TYPE, { kind: START_KIND, id, extra: 'not passed on' });
    await gateway.idle();

    // Assess
    expect(answer.FailedEntryCount).toBe(0);
    expect(answer.Entries?.[0]?.EventId).toEqual(expect.any(String));
    const started = (await executionArns()).filter((arn) => !before.has(arn));
    expect(started).toHaveLength(1);
    const executionArn = started[0] ?? '';
    const described = await describeExecution(executionArn);
    expect(JSON.parse(described.input ?? 'null')).toEqual({ id, via: 'rule' });
    expect(gateway.router.delivered).toContainEqual(
      expect.objectContaining({ detailType: START_DETAIL_TYPE, executionArn }),
    );
    // The execution really runs: its callback task got a token.
    await expect(world.tokenFor(id)).resolves.toEqual(expect.any(String));
  });

  it('routes nothing for PutEvents entries that match no pattern, and still accepts them', async () => {
    // Arrange
    const before = new Set(await executionArns());
    const deliveredBefore = gateway.router.delivered.length;
    const pingsBefore = pings.length;

    // Act
    const wrongKind = await putEvent(START_DETAIL_TYPE, { kind: 'stop', id: `stop-${randomUUID()}` });
    const wrongType = await putEvent('Something Else', { kind: START_KIND, id: `other-${randomUUID()}` });
    await gateway.idle();

    // Assess
    expect(wrongKind.FailedEntryCount).toBe(0);
    expect(wrongType.FailedEntryCount).toBe(0);
    expect((await executionArns()).filter((arn) => !before.has(arn))).toEqual([]);
    expect(gateway.router.delivered).toHaveLength(deliveredBefore);
    expect(gateway.router.undelivered).toEqual([]);
    expect(pings).toHaveLength(pingsBefore);
  });

  it('invokes the Lambda target of the Ping rule with the whole event', async () => {
    // Arrange
    const marker = randomUUID();
    const pingsBefore = pings.length;

    // Act
    const answer = await putEvent(PING_DETAIL_TYPE, { marker, nested: { n: 1 } });
    await gateway.idle();

    // Assess
    expect(answer.FailedEntryCount).toBe(0);
    const received = pings.slice(pingsBefore);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      'detail-type': PING_DETAIL_TYPE,
      source: SOURCE,
      detail: { marker, nested: { n: 1 } },
      id: answer.Entries?.[0]?.EventId,
    });
    expect(gateway.router.delivered).toContainEqual(
      expect.objectContaining({ detailType: PING_DETAIL_TYPE, rule: expect.stringMatching(/^PingRule/) }),
    );
  });

  it('routes a burst of concurrent PutEvents (drains joined into one pass), each event exactly once', async () => {
    // Arrange
    const markers = Array.from({ length: 25 }, () => randomUUID());
    const pingsBefore = pings.length;

    // Act
    const answers = await Promise.all(markers.map((marker) => putEvent(PING_DETAIL_TYPE, { marker })));
    await gateway.idle();

    // Assess
    expect(answers.every((answer) => answer.FailedEntryCount === 0)).toBe(true);
    const received = pings.slice(pingsBefore) as { detail: { marker: string } }[];
    expect(received.map((event) => event.detail.marker).sort()).toEqual([...markers].sort());
  });

  it('passes calls that are neither Step Functions nor PutEvents to moto', async () => {
    // Arrange
    const name = `gateway/secret-${randomUUID()}`;

    // Act
    const created = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 's3cr3t' }));
    const read = await secrets.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }),
    );

    // Assess
    expect(created.ARN).toContain(':secret:gateway/secret-');
    expect(read).toMatchObject({ Name: name, SecretString: 's3cr3t', VersionId: created.VersionId });
    expect(read.VersionStages).toContain('AWSCURRENT');
    expect(read.CreatedDate).toBeInstanceOf(Date);
    // The secret is moto's, not a copy of the gateway's.
    const direct = await moto.clients.secretsManager().send(new GetSecretValueCommand({ SecretId: name }));
    expect(direct.SecretString).toBe('s3cr3t');
  });

  it('reports each call it answers to its observers: service, action, signer and status, until they stop', async () => {
    // Arrange
    const seen: { service: string; action: string; accessKeyId: string; status: number }[] = [];
    const stop = gateway.observeCalls(({ service, action, accessKeyId, status }) =>
      seen.push({ service, action, accessKeyId, status }),
    );
    const name = `gateway/observed-${randomUUID()}`;

    // Act
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await secrets.send(new GetSecretValueCommand({ SecretId: `${name}-missing` })).catch(() => undefined);
    await executionArns();
    stop();
    await secrets.send(new GetSecretValueCommand({ SecretId: name }));

    // Assess
    const keyId = (await secrets.config.credentials()).accessKeyId;
    expect(seen).toEqual([
      { service: 'secretsmanager', action: 'CreateSecret', accessKeyId: keyId, status: 200 },
      { service: 'secretsmanager', action: 'GetSecretValue', accessKeyId: keyId, status: expect.any(Number) },
      { service: 'states', action: 'ListExecutions', accessKeyId: expect.any(String), status: 200 },
    ]);
    // The missing secret's answer, whatever code moto gives it, is an error.
    expect(seen[1]?.status).toBeGreaterThanOrEqual(400);
  });

  it('answers an unserved Step Functions action with UnknownOperationException', async () => {
    // Act
    const error = await rejectionOf(
      sfn.send(
        new CreateStateMachineCommand({
          name: 'NotServed',
          definition: JSON.stringify({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }),
          roleArn: 'arn:aws:iam::123456789012:role/NotServed',
        }),
      ),
    );

    // Assess
    expect((error as Error).name).toBe('UnknownOperationException');
    expect((error as Error).message).toContain('CreateStateMachine');
  });
  it('refuses PutEvents signed with an access key it does not know, as UnrecognizedClientException', async () => {
    // Prepare
    const stranger = new EventBridgeClient(
      clientConfig({ accessKeyId: 'AKIAMADEUP0000000000', secretAccessKey: 'x' }),
    );
    const pingsBefore = pings.length;

    // Act
    const error = await rejectionOf(
      stranger.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: MOTO_BUS, Source: SOURCE, DetailType: PING_DETAIL_TYPE, Detail: '{}' }],
        }),
      ),
    );
    await gateway.idle();
    stranger.destroy();

    // Assess
    expect(error).toMatchObject({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 400 },
    });
    expect(pings).toHaveLength(pingsBefore);
  });

  it('refuses the publisher’s access key signed with another secret, as InvalidSignatureException', async () => {
    // Prepare
    const forger = new EventBridgeClient(
      clientConfig({ accessKeyId: publisher.accessKeyId, secretAccessKey: `${publisher.secretAccessKey}0` }),
    );

    // Act
    const error = await rejectionOf(
      forger.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: MOTO_BUS, Source: SOURCE, DetailType: PING_DETAIL_TYPE, Detail: '{}' }],
        }),
      ),
    );
    forger.destroy();

    // Assess
    expect(error).toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 400 } });
  });

  it('refuses an unsigned PutEvents as MissingAuthenticationTokenException', async () => {
    // Act
    const answer = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
      body: JSON.stringify({
        Entries: [{ EventBusName: MOTO_BUS, Source: SOURCE, DetailType: PING_DETAIL_TYPE, Detail: '{}' }],
      }),
    });

    // Assess
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  });

  it('answers AccessDeniedException for a call with one entry its policy does not allow, and routes none of them', async () => {
    // Prepare: the template's statement allows sources test.*; moto's document of that name would allow all.
    const pingsBefore = pings.length;

    // Act
    const error = await rejectionOf(
      eventBridge.send(
        new PutEventsCommand({
          Entries: [
            { EventBusName: MOTO_BUS, Source: SOURCE, DetailType: PING_DETAIL_TYPE, Detail: '{}' },
            {
              EventBusName: MOTO_BUS,
              Source: 'stytch-m2m-rotator.operator',
              DetailType: PING_DETAIL_TYPE,
              Detail: '{}',
            },
          ],
        }),
      ),
    );
    await gateway.idle();

    // Assess
    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    expect((error as Error).message).toBe(
      'User: arn:aws:iam::123456789012:user/publisher is not authorized to perform: events:PutEvents on resource: ' +
        `arn:aws:events:us-east-1:123456789012:event-bus/${MOTO_BUS} because no identity-based policy allows the events:PutEvents action`,
    );
    expect(pings).toHaveLength(pingsBefore);
  });

  it('learns the key of a user created through it (CreateAccessKey) and applies that user’s policies as they change', async () => {
    // Prepare: a user and its key created through the gateway, as an SDK user would.
    const viaGateway = iamAt(gateway.url, iamDispatcher);
    await viaGateway('CreateUser', { UserName: 'newcomer' });
    const key = accessKeyOf(await viaGateway('CreateAccessKey', { UserName: 'newcomer' }));
    const newcomer = new EventBridgeClient(clientConfig(key));
    const put = () =>
      newcomer.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: MOTO_BUS,
              Source: SOURCE,
              DetailType: PING_DETAIL_TYPE,
              Detail: '{"by":"newcomer"}',
            },
          ],
        }),
      );

    // Act
    const withoutPolicy = await rejectionOf(put());
    await viaGateway('AttachUserPolicy', {
      UserName: 'newcomer',
      PolicyArn: `arn:aws:iam::123456789012:policy/${PUBLISHER_POLICY}`,
    });
    const withPolicy = await put();
    await viaGateway('DeleteAccessKey', { UserName: 'newcomer', AccessKeyId: key.accessKeyId });
    const deleted = await rejectionOf(put());
    newcomer.destroy();

    // Assess
    expect(withoutPolicy).toMatchObject({ name: 'AccessDeniedException' });
    expect(withPolicy.FailedEntryCount).toBe(0);
    expect(deleted).toMatchObject({ name: 'UnrecognizedClientException' });
  });
});
