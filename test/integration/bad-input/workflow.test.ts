import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { consumerSource, EVENT_SOURCES } from '#core/events.js';
import type { RotationRecord } from '#core/ports.js';
import type { AccessKey } from '#sandbox/gateway/index.js';
import { awsClientConfig, Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { waitFor } from '../../support/waitFor.js';
import { type WorldState, worldStateOf } from '../../support/worldState.js';

/**
 * Bad events and workflow inputs end to end (issue 8 §5), through the sandbox gateway as a
 * scanner, a consumer or Scheduler would send them: a malformed event is accepted by EventBridge
 * but its delivery fails (a dead letter on AWS, `gatewayFailures` here) and nothing changes; a
 * malformed StartExecution input ends in the `InvalidRequest` refusal (a succeeded execution whose
 * output is `invalid_request`) and nothing changes at
 * Stytch, in Secrets Manager or in the ledger.
 *
 * Every event is sent by a principal the bus admits for it (issue 13): a health report by the
 * consumer it names, with that consumer's own access key and source; a leak report by the
 * operator. So each malformed event gets past IAM and reaches the validation under test.
 */

const BILLING = 'm2m-client-test-billing-worker';
const PAYMENTS = 'm2m-client-test-payments';

/** Who sends an event: an access key and the envelope `source` that key may use. */
interface Sender {
  readonly credentials: AccessKey;
  readonly source: string;
}

describe('Bad events and workflow inputs through the sandbox', () => {
  let sandbox: Sandbox;
  let ledger: DynamoLedger;

  const worldState = (): Promise<WorldState> => worldStateOf(sandbox);

  /** EventBridge clients by access key id, each signed with that key (destroyed with the file). */
  const eventClients = new Map<string, EventBridgeClient>();
  const eventsAs = (credentials: AccessKey): EventBridgeClient => {
    const known = eventClients.get(credentials.accessKeyId);
    if (known !== undefined) return known;
    const client = new EventBridgeClient(awsClientConfig(sandbox.awsEndpoint, credentials));
    eventClients.set(credentials.accessKeyId, client);
    return client;
  };
  /** Consumer `name` as the bus admits it: its own access key, its own source. */
  const consumer = async (name: string): Promise<Sender> => ({
    credentials: await sandbox.consumerCredentials(name),
    source: consumerSource(name),
  });
  /** The operator, the only sender that may report a leak by client id. */
  const operator = (): Sender => ({
    credentials: sandbox.credentials.operator,
    source: EVENT_SOURCES.operator,
  });

  const putEvent = async (sender: Sender, detailType: string, detail: string) => {
    const result = await eventsAs(sender.credentials).send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: sandbox.eventBusName,
            Source: sender.source,
            DetailType: detailType,
            Detail: detail,
          },
        ],
      }),
    );
    await sandbox.settle();
    return result;
  };

  beforeAll(async () => {
    sandbox = await Sandbox.start({
      config: sampleSandboxConfig(),
      say: () => {},
    });
    ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
  });
  afterAll(async () => {
    for (const client of eventClients.values()) client.destroy();
    await sandbox?.stop();
  });

  describe('StartExecution with a malformed input', () => {
    it.each<[string, unknown, RegExp]>([
      ['an unknown trigger', { clientId: PAYMENTS, trigger: 'weekly' }, /trigger: Invalid option/],
      ['no clientId', { trigger: 'manual', reason: 'x' }, /clientId: /],
      ['an extra key', { clientId: PAYMENTS, trigger: 'manual', dryRun: true }, /Unrecognized key: "dryRun"/],
      ['a whitespace-only reason', { clientId: PAYMENTS, trigger: 'manual', reason: '   ' }, /reason: /],
      [
        'a clientId with a path',
        { clientId: `../${PAYMENTS}`, trigger: 'manual' },
        /clientId: must be letters/,
      ],
      ['an array', [{ clientId: PAYMENTS, trigger: 'manual' }], /\(root\): Invalid input: expected object/],
      ['a JSON string', JSON.stringify({ clientId: PAYMENTS, trigger: 'manual' }), /\(root\): Invalid input/],
    ])('%s ends in InvalidRequest and changes nothing', async (_label, input, issue) => {
      // Prepare
      await sandbox.settle();
      const before = await worldState();

      // Act
      const { executionArn = '' } = await sandbox.aws.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: sandbox.executor.stateMachineArn,
          input: JSON.stringify(input),
        }),
      );
      const execution = await sandbox.executor.waitForExecution(executionArn);

      // Assess
      // Refused, not failed (a bad request pages no one): the output says so.
      expect(execution).toMatchObject({ status: 'SUCCEEDED' });
      expect(JSON.parse(execution.output ?? '{}')).toEqual({
        outcome: 'invalid_request',
        reason: 'invalid_request',
        error: 'InvalidInputError',
      });
      const failures = sandbox.executor
        .getExecutionHistory(executionArn)
        .events.flatMap((event) => (event.taskFailedEventDetails ? [event.taskFailedEventDetails] : []));
      expect(failures).toHaveLength(1);
      expect(failures[0]?.error).toBe('InvalidInputError');
      const cause = JSON.parse(failures[0]?.cause ?? '{}') as { errorMessage?: string };
      expect(cause.errorMessage).toMatch(/^Invalid workflow input: /);
      expect(cause.errorMessage).toMatch(issue);
      const after = await worldState();
      expect(after.executions.filter((arn) => !before.executions.includes(arn))).toEqual([executionArn]);
      expect({ ...after, executions: before.executions }).toEqual(before);
    });

    it('a null input fails before StartRotation and changes nothing', async () => {
      // Prepare
      await sandbox.settle();
      const before = await worldState();

      // Act
      const { executionArn = '' } = await sandbox.aws.sfn.send(
        new StartExecutionCommand({ stateMachineArn: sandbox.executor.stateMachineArn, input: 'null' }),
      );
      const execution = await sandbox.executor.waitForExecution(executionArn);

      // Assess
      expect(execution.status).toBe('FAILED');
      const entered = sandbox.executor
        .getExecutionHistory(executionArn)
        .events.flatMap((event) => event.stateEnteredEventDetails?.name ?? []);
      expect(entered).not.toContain('StartRotation');
      const after = await worldState();
      expect({ ...after, executions: before.executions }).toEqual(before);
    });

    it('an input that is not JSON is refused by StartExecution: no execution', async () => {
      // Prepare
      await sandbox.settle();
      const before = await worldState();

      // Act
      const error = await sandbox.aws.sfn
        .send(
          new StartExecutionCommand({
            stateMachineArn: sandbox.executor.stateMachineArn,
            input: '{clientId:',
          }),
        )
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toMatchObject({ name: 'InvalidExecutionInput' });
      expect(await worldState()).toEqual(before);
    });
  });

  describe('a malformed Secret Leak Detected', () => {
    it('is not delivered, starts no rotation and changes nothing', async () => {
      // Prepare
      await sandbox.settle();
      const before = await worldState();
      const failuresBefore = sandbox.gatewayFailures.length;

      // Act
      const result = await putEvent(
        operator(),
        'Secret Leak Detected',
        JSON.stringify({ clientId: PAYMENTS, fingerprint: 'AB'.repeat(32), source: 'scanner' }),
      );

      // Assess
      expect(result.FailedEntryCount).toBe(0);
      expect(sandbox.gatewayFailures.slice(failuresBefore)).toEqual([
        expect.objectContaining({
          detailType: 'Secret Leak Detected',
          reason: expect.stringMatching(/InvalidInputError/),
        }),
      ]);
      expect(await worldState()).toEqual(before);
    });
  });

  describe('a malformed Consumer Health Reported while a rotation waits for consumers', () => {
    let waiting: RotationRecord;

    beforeAll(async () => {
      const { executionArn = '' } = await sandbox.aws.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: sandbox.executor.stateMachineArn,
          input: JSON.stringify({ clientId: BILLING, trigger: 'manual', reason: 'bad-input suite' }),
        }),
      );
      waiting = await waitFor(async () => {
        const [record] = await ledger.listRotations(BILLING, 1);
        return record?.executionId === executionArn && record.taskToken !== undefined ? record : undefined;
      });
    });

    const valid = (): Record<string, unknown> => ({
      clientId: BILLING,
      rotationId: waiting.rotationId,
      pendingVersionId: waiting.pendingVersionId,
      consumer: 'billing-api',
      healthy: true,
    });

    // Each malformed report is sent by billing-api, the consumer the valid report names, with its
    // own key and source: the bus admits it and the aggregator's validation is what refuses it. A
    // report whose `consumer` is missing or not a consumer name is malformed before it can be
    // compared with its source: a dead letter like the others, not a refusal kept on the rotation.
    it.each<[string, (detail: Record<string, unknown>) => unknown]>([
      ['healthy as a string', (detail) => ({ ...detail, healthy: 'true' })],
      ['an unknown key', (detail) => ({ ...detail, verdict: 'healthy' })],
      ['a rotationId that is not a UUID', (detail) => ({ ...detail, rotationId: 'latest' })],
      ['no consumer', ({ consumer: _consumer, ...detail }) => detail],
      ['a consumer with a space', (detail) => ({ ...detail, consumer: 'billing api' })],
      ['a detail of 1001 characters', (detail) => ({ ...detail, detail: 'd'.repeat(1001) })],
      ['an array', (detail) => [detail]],
    ])('%s: accepted by the bus, not delivered, nothing changed', async (_label, breakIt) => {
      // Prepare
      await sandbox.settle();
      const before = await worldState();
      const failuresBefore = sandbox.gatewayFailures.length;
      const deliveriesBefore = sandbox.gatewayDeliveries.length;

      // Act
      const result = await putEvent(
        await consumer('billing-api'),
        'Consumer Health Reported',
        JSON.stringify(breakIt(valid())),
      );

      // Assess
      expect(result.FailedEntryCount).toBe(0);
      expect(sandbox.gatewayFailures.slice(failuresBefore)).toEqual([
        {
          rule: expect.stringMatching(/HealthRule/),
          target: expect.any(String),
          detailType: 'Consumer Health Reported',
          reason: expect.stringMatching(/HealthAggregator.*: InvalidInputError$/),
        },
      ]);
      expect(sandbox.gatewayDeliveries.length).toBe(deliveriesBefore);
      expect(await worldState()).toEqual(before);
      expect((await ledger.getRotation(BILLING, waiting.rotationId))?.refusedReports).toBeUndefined();
      expect(sandbox.executor.describeExecution(waiting.executionId).status).toBe('RUNNING');
    });

    it('a detail that is not JSON is refused by PutEvents itself and routed nowhere', async () => {
      // Prepare
      await sandbox.settle();
      const before = await worldState();
      const failuresBefore = sandbox.gatewayFailures.length;
      const deliveriesBefore = sandbox.gatewayDeliveries.length;

      // Act
      const result = await putEvent(
        await consumer('billing-api'),
        'Consumer Health Reported',
        '{"healthy": tru',
      );

      // Assess
      expect(result.FailedEntryCount).toBe(1);
      expect(result.Entries?.[0]?.ErrorCode).toBe('MalformedDetail');
      expect(sandbox.gatewayFailures.length).toBe(failuresBefore);
      expect(sandbox.gatewayDeliveries.length).toBe(deliveriesBefore);
      expect(await worldState()).toEqual(before);
    });

    it('a source that is no consumer’s (issue 13): PutEvents refuses it, routed nowhere, nothing changed', async () => {
      // Prepare: the source this file used before issue 13, with the consumer's own key.
      const billingApi = await consumer('billing-api');
      await sandbox.settle();
      const before = await worldState();
      const failuresBefore = sandbox.gatewayFailures.length;
      const deliveriesBefore = sandbox.gatewayDeliveries.length;

      // Act
      const error = await putEvent(
        { ...billingApi, source: 'test.bad-input' },
        'Consumer Health Reported',
        JSON.stringify(valid()),
      ).catch((caught: unknown) => caught);

      // Assess
      expect(error).toMatchObject({ name: 'AccessDeniedException' });
      expect(sandbox.gatewayFailures.length).toBe(failuresBefore);
      expect(sandbox.gatewayDeliveries.length).toBe(deliveriesBefore);
      expect(await worldState()).toEqual(before);
      expect(sandbox.executor.describeExecution(waiting.executionId).status).toBe('RUNNING');
    });

    it('a well-formed report naming another consumer than its sender (issue 13): delivered, refused and kept on the rotation as refused, nothing else changes', async () => {
      // Prepare
      await sandbox.settle();
      const before = await worldState();
      const recordBefore = await ledger.getRotation(BILLING, waiting.rotationId);
      await sandbox.settle();
      const failuresBefore = sandbox.gatewayFailures.length;
      const deliveriesBefore = sandbox.gatewayDeliveries.length;

      // Act: billing-api, with its own key and source, says invoice-worker is healthy.
      const result = await putEvent(
        await consumer('billing-api'),
        'Consumer Health Reported',
        JSON.stringify({ ...valid(), consumer: 'invoice-worker' }),
      );

      // Assess: the bus admits it (its source is billing-api's own), the aggregator refuses it.
      expect(result.FailedEntryCount).toBe(0);
      expect(sandbox.gatewayFailures.length).toBe(failuresBefore);
      expect(sandbox.gatewayDeliveries.slice(deliveriesBefore)).toEqual([
        expect.objectContaining({
          rule: expect.stringMatching(/HealthRule/),
          detailType: 'Consumer Health Reported',
        }),
      ]);
      const record = await ledger.getRotation(BILLING, waiting.rotationId);
      expect(record).toEqual({
        ...recordBefore,
        refusedReports: [
          {
            claimed: 'invoice-worker',
            source: consumerSource('billing-api'),
            healthy: true,
            at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
          },
        ],
        refusedReportCount: 1,
      });
      expect(record?.reports).toEqual(recordBefore?.reports);
      // The refusal on the rotation record is the only change.
      const after = await worldState();
      expect({ ...after, ledger: [] }).toEqual({ ...before, ledger: [] });
      expect(after.ledger.filter((item) => !before.ledger.includes(item))).toHaveLength(1);
      expect(before.ledger.filter((item) => !after.ledger.includes(item))).toHaveLength(1);
      expect(sandbox.executor.describeExecution(waiting.executionId).status).toBe('RUNNING');
    });

    it('the wait still counts the valid reports that follow: the rotation completes', async () => {
      // Act: each consumer reports for itself.
      await putEvent(await consumer('billing-api'), 'Consumer Health Reported', JSON.stringify(valid()));
      await putEvent(
        await consumer('invoice-worker'),
        'Consumer Health Reported',
        JSON.stringify({ ...valid(), consumer: 'invoice-worker' }),
      );
      const execution = await sandbox.executor.waitForExecution(waiting.executionId);

      // Assess
      expect(execution.status).toBe('SUCCEEDED');
      expect(JSON.parse(execution.output ?? '{}')).toMatchObject({
        outcome: 'completed',
        reason: 'all_consumers_healthy',
      });
      const record = await ledger.getRotation(BILLING, waiting.rotationId);
      expect(Object.keys(record?.reports ?? {}).sort()).toEqual(['billing-api', 'invoice-worker']);
      expect(record?.refusedReports?.map((refused) => refused.claimed)).toEqual(['invoice-worker']);
    });
  });
});
