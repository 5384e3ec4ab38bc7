import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsAdapterError, AwsServiceError, LedgerItemFormatError } from '#adapters/aws/errors.js';
import { ClientRegistryTable } from '#adapters/aws/ledger/ClientRegistryTable.js';
import { LockTable } from '#adapters/aws/ledger/LockTable.js';
import { type LedgerTableProps, ledgerTableDefinition } from '#adapters/aws/ledger/ledgerTable.js';
import { RotationRecords } from '#adapters/aws/ledger/RotationRecords.js';
import type { RotationRecord } from '#core/ports.js';

/* The ledger's concerns against faults and shapes moto cannot show (their behaviour is tested on moto). */

const TABLE = 'ledger';
const CLIENT_ID = 'm2m-client-test-unit';
const ROTATION_ID = '22222222-2222-4222-8222-222222222222';
const NOW = new Date('2030-01-01T00:00:00.000Z');
const meta = { httpStatusCode: 400, requestId: 'req', attempts: 1 };

const RECORD: RotationRecord = {
  clientId: CLIENT_ID,
  rotationId: ROTATION_ID,
  clientKind: 'm2m',
  trigger: 'leak',
  executionId: 'exec-1',
  status: 'pending',
  steps: { started: '2030-01-01T00:00:00.000Z' },
  expectedConsumers: [],
  reports: {},
};

function conditionFailed() {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: meta });
}

const ddb = mockClient(DynamoDBDocumentClient);
const props: LedgerTableProps = {
  client: DynamoDBDocumentClient.from(new DynamoDBClient({})),
  tableName: TABLE,
};

beforeEach(() => {
  ddb.reset();
});

afterEach(() => {
  ddb.reset();
});

describe('Function: ledgerTableDefinition', () => {
  it('declares the table: pk/sk keys, the byStartedAt LSI, on-demand billing', () => {
    // Act
    const definition = ledgerTableDefinition('t');

    // Assess
    expect(definition).toMatchObject({
      TableName: 't',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      LocalSecondaryIndexes: [
        {
          IndexName: 'byStartedAt',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'startedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });
});

describe('Class: LockTable (faults and shapes moto cannot show)', () => {
  const ledger = new LockTable(props);

  it('takes the lock with one conditional PutItem', async () => {
    // Prepare
    ddb.on(PutCommand).resolves({});

    // Act
    const result = await ledger.acquireLock(
      { clientId: CLIENT_ID, rotationId: ROTATION_ID, expiresAt: '2030-01-01T00:30:00.000Z' },
      NOW,
    );

    // Assess
    expect(result).toEqual({ acquired: true });
    expect(ddb.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Item: {
          pk: CLIENT_ID,
          sk: 'LOCK',
          rotationId: ROTATION_ID,
          expiresAt: '2030-01-01T00:30:00.000Z',
          expiresAtMs: Date.parse('2030-01-01T00:30:00.000Z'),
        },
        ConditionExpression: 'attribute_not_exists(pk) OR rotationId = :me OR expiresAtMs < :now',
        ExpressionAttributeValues: { ':me': ROTATION_ID, ':now': NOW.getTime() },
      },
    ]);
  });

  it('tries again when the holder released the lock between the failed put and the read', async () => {
    // Prepare
    ddb.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});
    ddb.on(GetCommand).resolves({});

    // Act
    const result = await ledger.acquireLock(
      { clientId: CLIENT_ID, rotationId: ROTATION_ID, expiresAt: '2030-01-01T00:30:00.000Z' },
      NOW,
    );

    // Assess
    expect(result).toEqual({ acquired: true });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(2);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ ConsistentRead: true });
  });

  it('gives up with a retryable error when the lock keeps changing hands', async () => {
    // Prepare
    ddb.on(PutCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({});

    // Act
    const error = await ledger
      .acquireLock(
        { clientId: CLIENT_ID, rotationId: ROTATION_ID, expiresAt: '2030-01-01T00:30:00.000Z' },
        NOW,
      )
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsAdapterError);
    expect((error as AwsAdapterError).retryable).toBe(true);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(3);
  });

  it('rejects a lock whose expiry is not a timestamp, before writing', async () => {
    // Act
    const error = await ledger
      .acquireLock({ clientId: CLIENT_ID, rotationId: ROTATION_ID, expiresAt: 'soon' }, NOW)
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(LedgerItemFormatError);
    expect(ddb.calls()).toHaveLength(0);
  });

  it.each([
    [
      'ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException({ message: 'slow', $metadata: meta }),
      true,
    ],
    [
      'InternalServerError',
      new InternalServerError({ message: 'boom', $metadata: { ...meta, httpStatusCode: 500 } }),
      true,
    ],
    [
      'ValidationException',
      Object.assign(new Error('bad'), { name: 'ValidationException', $fault: 'client', $metadata: meta }),
      false,
    ],
    [
      'AccessDeniedException',
      Object.assign(new Error('no'), { name: 'AccessDeniedException', $fault: 'client', $metadata: meta }),
      false,
    ],
  ])('wraps %s from a write, retryable=%s', async (_label, cause, retryable) => {
    // Prepare
    ddb.on(DeleteCommand).rejects(cause);

    // Act
    const error = await ledger.releaseLock(CLIENT_ID, ROTATION_ID).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      service: 'DynamoDB',
      operation: 'DeleteItem',
      resource: `${TABLE}/${CLIENT_ID}/LOCK`,
    });
    expect((error as AwsServiceError).retryable).toBe(retryable);
    expect((error as Error).cause).toBe(cause);
  });
});

describe('Class: RotationRecords (faults and shapes moto cannot show)', () => {
  const ledger = new RotationRecords(props);

  it('updates with one SET per field and steps.#k per step, conditional on the record existing', async () => {
    // Prepare
    ddb.on(UpdateCommand).resolves({
      Attributes: {
        ...RECORD,
        pk: CLIENT_ID,
        sk: `ROTATION#${ROTATION_ID}`,
        startedAt: RECORD.steps.started,
      },
    });

    // Act
    await ledger.updateRotation(CLIENT_ID, ROTATION_ID, {
      status: 'completed',
      outcomeReason: 'all_consumers_healthy',
      steps: { completed: '2030-01-01T00:10:00.000Z' },
    });

    // Assess
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: CLIENT_ID, sk: `ROTATION#${ROTATION_ID}` },
      UpdateExpression: 'SET #f1 = :v1, #f2 = :v2, steps.#s3 = :v3',
      ConditionExpression: 'attribute_exists(sk)',
      ExpressionAttributeNames: { '#f1': 'status', '#f2': 'outcomeReason', '#s3': 'completed' },
      ExpressionAttributeValues: {
        ':v1': 'completed',
        ':v2': 'all_consumers_healthy',
        ':v3': '2030-01-01T00:10:00.000Z',
      },
      ReturnValues: 'ALL_NEW',
    });
  });

  it('records a report on its own map entry, only while the rotation is started or pending', async () => {
    // Prepare
    ddb.on(UpdateCommand).rejects(conditionFailed());

    // Act
    const result = await ledger.recordReport(CLIENT_ID, ROTATION_ID, 'billing-api', {
      healthy: true,
      reportedAt: '2030-01-01T00:01:00.000Z',
    });

    // Assess
    expect(result).toBeNull();
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      UpdateExpression: 'SET reports.#consumer = :report',
      ConditionExpression: '#status IN (:started, :pending)',
      ExpressionAttributeNames: { '#consumer': 'billing-api', '#status': 'status' },
      ExpressionAttributeValues: {
        ':report': { healthy: true, reportedAt: '2030-01-01T00:01:00.000Z' },
        ':started': 'started',
        ':pending': 'pending',
      },
    });
  });

  it('refuses a record without steps.started (the index needs it), before writing', async () => {
    // Act
    const error = await ledger.createRotation({ ...RECORD, steps: {} }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(LedgerItemFormatError);
    expect(error).toMatchObject({ retryable: false, issues: ['steps.started: required'] });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('reports a malformed stored item with paths and codes only', async () => {
    // Prepare
    ddb.on(GetCommand).resolves({
      Item: { ...RECORD, status: 'exploded', pk: CLIENT_ID, sk: `ROTATION#${ROTATION_ID}` },
    });

    // Act
    const error = await ledger.getRotation(CLIENT_ID, ROTATION_ID).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(LedgerItemFormatError);
    expect((error as LedgerItemFormatError).issues).toEqual(['status: invalid_value']);
    expect((error as Error).message).not.toContain('exploded');
  });

  it('pages through the index until the limit is reached', async () => {
    // Prepare
    const item = (n: number) => ({
      ...RECORD,
      rotationId: `${n}`,
      pk: CLIENT_ID,
      sk: `ROTATION#${n}`,
      startedAt: RECORD.steps.started,
    });
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [item(1), item(2)], LastEvaluatedKey: { pk: CLIENT_ID, sk: 'ROTATION#2' } })
      .resolvesOnce({ Items: [item(3)], LastEvaluatedKey: { pk: CLIENT_ID, sk: 'ROTATION#3' } });

    // Act
    const records = await ledger.listRotations(CLIENT_ID, 3);

    // Assess
    expect(records.map((r) => r.rotationId)).toEqual(['1', '2', '3']);
    const inputs = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).toMatchObject({ IndexName: 'byStartedAt', ScanIndexForward: false, Limit: 3 });
    expect(inputs[1]).toMatchObject({ Limit: 1, ExclusiveStartKey: { pk: CLIENT_ID, sk: 'ROTATION#2' } });
  });
});

describe('Class: ClientRegistryTable (paging moto does not show)', () => {
  const registry = new ClientRegistryTable(props);

  it('lists the registry page by page, without a limit, until the last page', async () => {
    // Prepare
    const item = (n: number) => ({
      clientId: `client-${n}`,
      clientKind: 'm2m',
      name: `name-${n}`,
      scopes: ['read:x'],
      expectedConsumers: [],
      secretId: `secret-${n}`,
      registeredAt: '2030-01-01T00:00:00.000Z',
      registeredBy: 'ops',
      pk: 'REGISTRY#',
      sk: `CLIENT#client-${n}`,
    });
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [item(1)], LastEvaluatedKey: { pk: 'REGISTRY#', sk: 'CLIENT#client-1' } })
      .resolvesOnce({ Items: [item(2)] });

    // Act
    const registrations = await registry.listRegistrations();

    // Assess
    expect(registrations.map((r) => r.clientId)).toEqual(['client-1', 'client-2']);
    const inputs = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).not.toHaveProperty('Limit');
    expect(inputs[0]).not.toHaveProperty('ExclusiveStartKey');
    expect(inputs[1]).toMatchObject({ ExclusiveStartKey: { pk: 'REGISTRY#', sk: 'CLIENT#client-1' } });
  });
});
