import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type {
  DeleteCommandInput,
  DynamoDBDocumentClient,
  PutCommandInput,
  QueryCommandInput,
  TransactWriteCommandInput,
  UpdateCommandInput,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { awsErrorCode, issueSummaries, LedgerItemFormatError, wrapAwsError } from '../errors.js';
import { dynamoDocumentSdk } from '../sdk/dynamoDocument.js';

/*
 * The one DynamoDB table every ledger concern shares (locks, rotation records, leak reports, the
 * client registry, the fingerprint index): its keys, its definition, and the calls they all make
 * through it, so each concern writes only its own items and conditions.
 */

/** Sort key of a client's lock item. */
export const LOCK_SK = 'LOCK';
/** Sort-key prefix of rotation items: `ROTATION#<rotationId>`. */
export const ROTATION_SK_PREFIX = 'ROTATION#';
/** Partition key of the registry of run-time clients (it holds `#`, which no client id does). */
export const REGISTRY_PK = 'REGISTRY#';
/** Sort-key prefixes of the registry: one item by client id, one by name. */
export const REGISTRY_CLIENT_PREFIX = 'CLIENT#';
export const REGISTRY_NAME_PREFIX = 'NAME#';
/** Partition-key prefix of fingerprint items (`FINGERPRINT#<hex>`; a client id never holds `#`). */
export const FINGERPRINT_PK_PREFIX = 'FINGERPRINT#';
/** Sort key of a fingerprint item. */
export const FINGERPRINT_SK = 'FINGERPRINT';
/** Sort-key prefix of leak report items: `LEAK#<receivedAt ISO>#<eventId>` (sorts by time). */
export const LEAK_SK_PREFIX = 'LEAK#';
/** Sort-key prefix of a leak report's idempotency guard: `LEAKEVENT#<eventId>`. */
export const LEAK_EVENT_SK_PREFIX = 'LEAKEVENT#';
/** How long a leak report (and its guard) stays in the ledger: its `ttl` is this after `receivedAt`. */
export const LEAK_REPORT_RETENTION_DAYS = 180;
/** The local secondary index (pk + startedAt) that lists a client's rotations by start time. */
export const BY_STARTED_AT_INDEX = 'byStartedAt';
/**
 * The global secondary index (fleetRun + clientId) over the rotation records a fleet run tagged:
 * `rotator status --fleet` counts a run's progress from it, a page of a thousand records a read.
 */
export const BY_FLEET_RUN_INDEX = 'byFleetRun';
/** The attributes {@link BY_FLEET_RUN_INDEX} projects besides its keys. */
export const BY_FLEET_RUN_PROJECTED = ['status'] as const;

/**
 * The ledger table, as CreateTable input: `pk` (the client id) + `sk` (`LOCK` or
 * `ROTATION#<id>`), the `byStartedAt` LSI, on-demand billing. Tests and the sandbox create
 * exactly this table; the CDK app declares the same keys and index.
 */
export function ledgerTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'startedAt', AttributeType: 'S' },
      { AttributeName: 'fleetRun', AttributeType: 'S' },
      { AttributeName: 'clientId', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    LocalSecondaryIndexes: [
      {
        IndexName: BY_STARTED_AT_INDEX,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'startedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: BY_FLEET_RUN_INDEX,
        KeySchema: [
          { AttributeName: 'fleetRun', KeyType: 'HASH' },
          { AttributeName: 'clientId', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...BY_FLEET_RUN_PROJECTED] },
      },
    ],
  };
}

/** Props of the ledger and of each of its concerns: where the table is. */
export interface LedgerTableProps {
  /**
   * A document client, built once per container. Build it with
   * `marshallOptions: { removeUndefinedValues: true }` or not: the ledger never writes undefined.
   */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** A table item as the document client reads and writes it. */
export type LedgerItem = Record<string, unknown>;

/**
 * What a write did: it was written (with what DynamoDB returned), or its condition refused it
 * (`refusal` is the ConditionalCheckFailedException, for a `cause`).
 */
export type WriteOutcome<Output> =
  | { readonly written: true; readonly output: Output }
  | { readonly written: false; readonly refusal: unknown };

/** The expression parts every write of a transaction may carry. */
interface TransactExpressions {
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

/** One write of a {@link LedgerTable.transact}: a put, an update or a delete of one item of the table. */
export type TransactWrite =
  | { readonly put: TransactExpressions & { readonly Item: LedgerItem } }
  | { readonly update: TransactExpressions & { readonly Key: LedgerItem; readonly UpdateExpression: string } }
  | { readonly delete: TransactExpressions & { readonly Key: LedgerItem } };

/**
 * What a transaction did: written, or cancelled (a condition failed, or a concurrent write or
 * transaction conflicted): `reasons` holds DynamoDB's cancellation code of each write, in order
 * (`None`, `ConditionalCheckFailed`, `TransactionConflict`, …).
 */
export type TransactOutcome =
  | { readonly written: true }
  | { readonly written: false; readonly refusal: unknown; readonly reasons: readonly string[] };

/**
 * The calls of the ledger table. A failed condition is an outcome ({@link WriteOutcome}), not an
 * error, because every concern acts on it; any other failure is an `AwsServiceError` naming the
 * operation and `<table>/<pk>/<sk>`. Reads are strongly consistent (they follow refused writes).
 */
export class LedgerTable {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  public constructor(props: LedgerTableProps) {
    this.#client = props.client;
    this.#tableName = props.tableName;
  }

  /** The item at `pk`/`sk`, or undefined when there is none. */
  public async get(pk: string, sk: string): Promise<LedgerItem | undefined> {
    const { GetCommand } = await dynamoDocumentSdk();
    try {
      const { Item } = await this.#client.send(
        new GetCommand({ TableName: this.#tableName, Key: { pk, sk }, ConsistentRead: true }),
      );
      return Item;
    } catch (error) {
      throw this.#wrap(error, 'GetItem', `${pk}/${sk}`);
    }
  }

  /** One PutItem of `input.Item`. */
  public put(input: Omit<PutCommandInput, 'TableName'>): Promise<WriteOutcome<unknown>> {
    return this.#write('PutItem', describeKey(input.Item), ({ PutCommand }) =>
      this.#client.send(new PutCommand({ TableName: this.#tableName, ...input })),
    );
  }

  /** One UpdateItem of `input.Key`; `output` holds the item when `ReturnValues: 'ALL_NEW'`. */
  public update(input: Omit<UpdateCommandInput, 'TableName'>): Promise<WriteOutcome<LedgerItem | undefined>> {
    return this.#write('UpdateItem', describeKey(input.Key), async ({ UpdateCommand }) => {
      const output: UpdateCommandOutput = await this.#client.send(
        new UpdateCommand({ TableName: this.#tableName, ...input }),
      );
      return output.Attributes;
    });
  }

  /** One DeleteItem of `input.Key`. */
  public delete(input: Omit<DeleteCommandInput, 'TableName'>): Promise<WriteOutcome<unknown>> {
    return this.#write('DeleteItem', describeKey(input.Key), ({ DeleteCommand }) =>
      this.#client.send(new DeleteCommand({ TableName: this.#tableName, ...input })),
    );
  }

  /**
   * One TransactWriteItems of `writes` (distinct items; at most 100): all of them or none. A
   * cancelled transaction is an outcome, like a failed condition; `what` names it in errors.
   */
  public async transact(writes: readonly TransactWrite[], what: string): Promise<TransactOutcome> {
    const { TransactWriteCommand } = await dynamoDocumentSdk();
    const TableName = this.#tableName;
    const TransactItems: NonNullable<TransactWriteCommandInput['TransactItems']> = writes.map((write) => {
      if ('put' in write) return { Put: { TableName, ...write.put } };
      if ('update' in write) return { Update: { TableName, ...write.update } };
      return { Delete: { TableName, ...write.delete } };
    });
    try {
      await this.#client.send(new TransactWriteCommand({ TransactItems }));
      return { written: true };
    } catch (error) {
      if (awsErrorCode(error) !== 'TransactionCanceledException') {
        throw this.#wrap(error, 'TransactWriteItems', what);
      }
      const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      return { written: false, refusal: error, reasons: reasons.map((reason) => reason.Code ?? 'None') };
    }
  }

  /**
   * Queries page by page, in the order DynamoDB returns, until `limit` items (each page asks only
   * for what is missing) or, without a limit, until the last page. `what` names the query in errors.
   */
  public async query(
    input: Omit<QueryCommandInput, 'TableName' | 'Limit' | 'ExclusiveStartKey'>,
    what: string,
    limit?: number,
  ): Promise<LedgerItem[]> {
    const { QueryCommand } = await dynamoDocumentSdk();
    const items: LedgerItem[] = [];
    let startKey: LedgerItem | undefined;
    do {
      if (limit !== undefined && items.length >= limit) break;
      let page: { Items?: LedgerItem[]; LastEvaluatedKey?: LedgerItem };
      try {
        page = await this.#client.send(
          new QueryCommand({
            TableName: this.#tableName,
            ...input,
            ...(limit === undefined ? {} : { Limit: limit - items.length }),
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
      } catch (error) {
        throw this.#wrap(error, 'Query', what);
      }
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  async #write<Output>(
    operation: string,
    key: string,
    send: (sdk: Awaited<ReturnType<typeof dynamoDocumentSdk>>) => Promise<Output>,
  ): Promise<WriteOutcome<Output>> {
    const sdk = await dynamoDocumentSdk();
    try {
      return { written: true, output: await send(sdk) };
    } catch (error) {
      if (awsErrorCode(error) === 'ConditionalCheckFailedException')
        return { written: false, refusal: error };
      throw this.#wrap(error, operation, key);
    }
  }

  #wrap(error: unknown, operation: string, key: string) {
    return wrapAwsError(error, { service: 'DynamoDB', operation, resource: `${this.#tableName}/${key}` });
  }
}

/**
 * Parses a stored item with `schema`, or throws {@link LedgerItemFormatError} naming `what` with
 * the issues' paths and codes only (never a stored value).
 */
export function parseItem<Schema extends z.ZodType>(
  schema: Schema,
  item: unknown,
  what: string,
): z.output<Schema> {
  const parsed = schema.safeParse(item);
  if (!parsed.success) throw new LedgerItemFormatError(what, issueSummaries(parsed.error.issues));
  return parsed.data;
}

/** The entries of `fields` whose value is not undefined: what an item or a port's record holds. */
export function definedFields(fields: object): LedgerItem {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function describeKey(key: LedgerItem | undefined): string {
  return `${String(key?.pk)}/${String(key?.sk)}`;
}
