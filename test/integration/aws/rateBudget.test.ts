import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetedSecretsManagerWrites } from '#adapters/aws/clients/budgetedWrites.js';
import { DynamoRateBudgetStore } from '#adapters/aws/DynamoRateBudgetStore.js';
import { rateBudgetLimits } from '#core/rateBudget.js';
import { type MotoServer, startMoto } from '../../support/moto.js';
import { useMotoLedger } from './ledger/motoLedger.js';

const TABLE = 'rotator-ledger-budget';
const LIMITS = rateBudgetLimits({ stytchRequestsPerSecond: 2, secretsManagerWritesPerSecond: 5 });

describe('Class: DynamoRateBudgetStore (moto)', () => {
  let store: DynamoRateBudgetStore;
  const table = useMotoLedger(TABLE, (props) => {
    store = new DynamoRateBudgetStore(props);
  });
  const itemOf = async (windowStartMs: number) =>
    (
      await table.doc.send(
        new GetCommand({ TableName: TABLE, Key: { pk: 'BUDGET#', sk: String(windowStartMs) } }),
      )
    ).Item;

  it('admits exactly the limit among 30 callers racing for one window, and counts them in one expiring item', async () => {
    // Prepare
    const limits = { windowMs: 1_000, requests: { ...LIMITS.requests, 'stytch-management': 10 } };
    const windowStartMs = 1_900_000_000_000;

    // Act
    const granted = await Promise.all(
      Array.from({ length: 30 }, () => store.take(windowStartMs, { 'stytch-management': 1 }, limits)),
    );

    // Assess
    expect(granted.filter(Boolean)).toHaveLength(10);
    expect(await itemOf(windowStartMs)).toEqual({
      pk: 'BUDGET#',
      sk: String(windowStartMs),
      'stytch-management': 10,
      ttl: 1_900_000_001 + 24 * 3600,
    });
  });

  it('takes several budgets at once, all or nothing, each window apart', async () => {
    const step = { 'stytch-management': 1, 'stytch-token': 1, 'secretsmanager-writes': 2 } as const;
    expect(await store.take(5_000, step, LIMITS)).toBe(true);
    expect(await store.take(5_000, step, LIMITS)).toBe(true);
    // The third step's management request would pass 2: nothing of it is counted.
    expect(await store.take(5_000, step, LIMITS)).toBe(false);
    expect(await store.take(5_000, { 'secretsmanager-writes': 1 }, LIMITS)).toBe(true);
    expect(await store.take(6_000, step, LIMITS)).toBe(true);
    expect(await store.take(7_000, { 'stytch-token': 3 }, LIMITS)).toBe(false);
    expect(await itemOf(5_000)).toMatchObject({
      'stytch-management': 2,
      'stytch-token': 2,
      'secretsmanager-writes': 5,
    });
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
