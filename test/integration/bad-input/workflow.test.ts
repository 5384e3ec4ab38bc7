import { fileURLToPath } from 'node:url';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import type { RotationRecord } from '#core/ports.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { loadDeploymentConfig } from '../../../lib/config/DeploymentConfig.js';
import { waitFor } from '../../support/waitFor.js';
import { type WorldState, worldStateOf } from '../../support/worldState.js';

/**
 * Bad events and workflow inputs end to end (issue 8 §5), through the sandbox gateway as a
 * scanner, a consumer or Scheduler would send them: a malformed event is accepted by EventBridge
 * but its delivery fails (a dead letter on AWS, `gatewayFailures` here) and nothing changes; a
 * malformed StartExecution input ends in the `InvalidRequest` refusal (a succeeded execution whose
 * output is `invalid_request`) and nothing changes at
 * Stytch, in Secrets Manager or in the ledger.
 */

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BILLING = 'm2m-client-test-billing-worker';
const PAYMENTS = 'm2m-client-test-payments';

describe('Bad events and workflow inputs through the sandbox', () => {
  let sandbox: Sandbox;
  let ledger: DynamoLedger;

  const worldState = (): Promise<WorldState> => worldStateOf(sandbox);

  const putEvent = async (detailType: string, detail: string) => {
    const result = await sandbox.aws.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: sandbox.eventBusName,
            Source: 'test.bad-input',
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
      config: loadDeploymentConfig(`${REPO_ROOT}config/rotator.sample.json`),
      say: () => {},
    });
    ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
  });
  afterAll(() => sandbox?.stop());

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
      const before = await worldState();
      const failuresBefore = sandbox.gatewayFailures.length;

      // Act
      const result = await putEvent(
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
      const before = await worldState();
      const failuresBefore = sandbox.gatewayFailures.length;
      const deliveriesBefore = sandbox.gatewayDeliveries.length;

      // Act
      const result = await putEvent('Consumer Health Reported', JSON.stringify(breakIt(valid())));

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
      expect(sandbox.executor.describeExecution(waiting.executionId).status).toBe('RUNNING');
    });

    it('a detail that is not JSON is refused by PutEvents itself and routed nowhere', async () => {
      // Prepare
      const before = await worldState();
      const failuresBefore = sandbox.gatewayFailures.length;
      const deliveriesBefore = sandbox.gatewayDeliveries.length;

      // Act
      const result = await putEvent('Consumer Health Reported', '{"healthy": tru');

      // Assess
      expect(result.FailedEntryCount).toBe(1);
      expect(result.Entries?.[0]?.ErrorCode).toBe('MalformedDetail');
      expect(sandbox.gatewayFailures.length).toBe(failuresBefore);
      expect(sandbox.gatewayDeliveries.length).toBe(deliveriesBefore);
      expect(await worldState()).toEqual(before);
    });

    it('the wait still counts the valid reports that follow: the rotation completes', async () => {
      // Act
      await putEvent('Consumer Health Reported', JSON.stringify(valid()));
      await putEvent('Consumer Health Reported', JSON.stringify({ ...valid(), consumer: 'invoice-worker' }));
      const execution = await sandbox.executor.waitForExecution(waiting.executionId);

      // Assess
      expect(execution.status).toBe('SUCCEEDED');
      expect(JSON.parse(execution.output ?? '{}')).toMatchObject({
        outcome: 'completed',
        reason: 'all_consumers_healthy',
      });
      const record = await ledger.getRotation(BILLING, waiting.rotationId);
      expect(Object.keys(record?.reports ?? {}).sort()).toEqual(['billing-api', 'invoice-worker']);
    });
  });
});
