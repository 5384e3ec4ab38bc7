import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetedSecretsManagerWrites } from '#adapters/aws/clients/budgetedWrites.js';
import { DynamoRateBudgetStore } from '#adapters/aws/DynamoRateBudgetStore.js';
import { ledgerTableDefinition } from '#adapters/aws/index.js';
import { BUDGET_NAMES } from '#core/rateBudget.js';
import { type MotoServer, startMoto } from '../../support/moto.js';

const TABLE = 'rotator-ledger-budget';

describe('Class: DynamoRateBudgetStore (moto)', () => {
  let moto: MotoServer;
  let doc: DynamoDBDocumentClient;
  let store: DynamoRateBudgetStore;

  beforeAll(async () => {
    moto = await startMoto();
    const raw = moto.clients.dynamoDb();
    await raw.send(new CreateTableCommand(ledgerTableDefinition(TABLE)));
    raw.destroy();
    doc = moto.clients.dynamoDbDocument();
    store = new DynamoRateBudgetStore({ client: doc, tableName: TABLE });
  });

  afterAll(async () => {
    doc?.destroy();
    await moto?.stop();
  });

  it('admits exactly the limit among 30 callers racing for one window, and counts them in one expiring item', async () => {
    // Prepare
    const limit = { requests: 10, windowMs: 1_000 };
    const windowStartMs = 1_900_000_000_000;

    // Act
    const granted = await Promise.all(
      Array.from({ length: 30 }, () => store.take(BUDGET_NAMES.stytchManagement, windowStartMs, 1, limit)),
    );

    // Assess
    expect(granted.filter(Boolean)).toHaveLength(10);
    const { Item } = await doc.send(
      new GetCommand({
        TableName: TABLE,
        Key: { pk: 'BUDGET#stytch-management', sk: String(windowStartMs) },
      }),
    );
    expect(Item).toEqual({
      pk: 'BUDGET#stytch-management',
      sk: String(windowStartMs),
      used: 10,
      ttl: 1_900_000_001 + 24 * 3600,
    });
  });

  it('counts each window and each budget apart, and takes several requests at once only when they all fit', async () => {
    const limit = { requests: 3, windowMs: 1_000 };
    expect(await store.take(BUDGET_NAMES.stytchToken, 5_000, 2, limit)).toBe(true);
    expect(await store.take(BUDGET_NAMES.stytchToken, 5_000, 2, limit)).toBe(false);
    expect(await store.take(BUDGET_NAMES.stytchToken, 5_000, 1, limit)).toBe(true);
    expect(await store.take(BUDGET_NAMES.stytchToken, 6_000, 3, limit)).toBe(true);
    expect(await store.take(BUDGET_NAMES.secretsManagerWrites, 5_000, 3, limit)).toBe(true);
  });
});

describe('Function: budgetedSecretsManagerWrites (moto)', () => {
  let moto: MotoServer;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    moto = await startMoto();
    client = moto.clients.secretsManager();
  });

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  it('takes from the write budget before each write, and never for a read', async () => {
    // Prepare
    const taken: string[] = [];
    const budgeted = budgetedSecretsManagerWrites(client, async () => void taken.push('write'));

    // Act
    await budgeted.send(new CreateSecretCommand({ Name: 'stytch/m2m/budgeted', SecretString: '{"a":"1"}' }));
    await budgeted.send(
      new PutSecretValueCommand({ SecretId: 'stytch/m2m/budgeted', SecretString: '{"a":"2"}' }),
    );
    const read = await budgeted.send(
      new GetSecretValueCommand({ SecretId: 'stytch/m2m/budgeted', VersionStage: 'AWSCURRENT' }),
    );

    // Assess
    expect(taken).toEqual(['write', 'write']);
    expect(read.SecretString).toBe('{"a":"2"}');
  });

  it('sends nothing when the budget refuses', async () => {
    // Prepare
    const budgeted = budgetedSecretsManagerWrites(client, async () => {
      throw new Error('spent');
    });

    // Act
    const error = await budgeted
      .send(new CreateSecretCommand({ Name: 'stytch/m2m/refused', SecretString: '{}' }))
      .catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ message: 'spent' });
    const missing = await client
      .send(new GetSecretValueCommand({ SecretId: 'stytch/m2m/refused', VersionStage: 'AWSCURRENT' }))
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
