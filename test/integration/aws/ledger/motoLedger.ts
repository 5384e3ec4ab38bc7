import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { type LedgerTableProps, ledgerTableDefinition } from '#adapters/aws/ledger/ledgerTable.js';
import type { RotationRecord } from '#core/ports.js';
import type { ClientRegistration } from '#core/registry.js';
import { type MotoServer, startMoto } from '../../../support/moto.js';

/** A moto server holding one ledger table, for the ledger's concern classes and their composition. */
export interface MotoLedger {
  /** The document client over moto, for reading and planting items beside the adapter. */
  readonly doc: DynamoDBDocumentClient;
  /** What every ledger concern takes: the document client and the table's name. */
  readonly props: LedgerTableProps;
  /** Every item of the table under `pk`, in sort-key order. */
  itemsOf(pk: string): Promise<Record<string, unknown>[]>;
  /** Destroys the client and stops moto. */
  stop(): Promise<void>;
}

/** Starts moto and creates the ledger table `tableName` exactly as the CDK app and the sandbox do. */
export async function startMotoLedger(tableName: string): Promise<MotoLedger> {
  const moto: MotoServer = await startMoto();
  const raw = moto.clients.dynamoDb();
  await raw.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
  raw.destroy();
  const doc = moto.clients.dynamoDbDocument();
  return {
    doc,
    props: { client: doc, tableName },
    itemsOf: async (pk) => {
      const { Items = [] } = await doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
        }),
      );
      return Items;
    },
    stop: async () => {
      doc.destroy();
      await moto.stop();
    },
  };
}

/**
 * A moto ledger table for the calling `describe`: started in its `beforeAll` (then `onStart` builds
 * the adapters under test over it) and stopped in its `afterAll`. Read it only inside hooks and tests.
 */
export function useMotoLedger(
  tableName: string,
  onStart: (props: LedgerTableProps) => void = () => undefined,
): MotoLedger {
  let started: MotoLedger | undefined;
  beforeAll(async () => {
    started = await startMotoLedger(tableName);
    onStart(started.props);
  });
  afterAll(async () => {
    await started?.stop();
  });
  const current = (): MotoLedger => {
    if (started === undefined)
      throw new Error(`The moto ledger ${tableName} is read before its beforeAll ran`);
    return started;
  };
  return {
    get doc() {
      return current().doc;
    },
    get props() {
      return current().props;
    },
    itemsOf: (pk) => current().itemsOf(pk),
    stop: () => current().stop(),
  };
}

/** The start of time of the ledger tests. */
export const T0 = new Date('2030-01-01T00:00:00.000Z');

/** The ISO time `minutes` after {@link T0}. */
export function at(minutes: number): string {
  return new Date(T0.getTime() + minutes * 60_000).toISOString();
}

/** A fresh client id, so tests sharing a table never share a partition. */
export function newClientId(): string {
  return `m2m-client-test-${randomUUID()}`;
}

/** A started scheduled rotation of `clientId`, with a fresh rotation id, and `overrides`. */
export function rotationRecord(clientId: string, overrides: Partial<RotationRecord> = {}): RotationRecord {
  return {
    clientId,
    rotationId: randomUUID(),
    clientKind: 'm2m',
    trigger: 'schedule',
    executionId: `arn:aws:states:us-east-1:123456789012:execution:rotator:${randomUUID()}`,
    status: 'started',
    steps: { started: at(0) },
    expectedConsumers: ['billing-api', 'search-api'],
    reports: {},
    ...overrides,
  };
}

/** A run-time client's registration with a fresh client id and name, and `overrides`. */
export function clientRegistration(overrides: Partial<ClientRegistration> = {}): ClientRegistration {
  const clientId = overrides.clientId ?? newClientId();
  return {
    clientId,
    clientKind: 'm2m',
    name: `billing-${randomUUID().slice(0, 8)}`,
    scopes: ['read:invoices'],
    expectedConsumers: ['billing-api'],
    secretId: `stytch-m2m/${clientId}`,
    registeredAt: at(0),
    registeredBy: 'arn:aws:iam::123456789012:user/ops',
    ...overrides,
  };
}
