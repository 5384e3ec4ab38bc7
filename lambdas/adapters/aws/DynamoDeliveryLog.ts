import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { type DeliveryClaim, type DeliveryLogPort, GITHUB_DELIVERY_ID_PATTERN } from '#core/githubWebhook.js';
import {
  AwsAdapterError,
  awsErrorCode,
  issueSummaries,
  LedgerItemFormatError,
  wrapAwsError,
} from './errors.js';
import { dynamoDocumentSdk } from './sdk/dynamoDocument.js';

/** Partition-key prefix of delivery items: `GITHUB_DELIVERY#<delivery id>`. */
export const DELIVERY_PK_PREFIX = 'GITHUB_DELIVERY#';
/** Sort key of a delivery item. */
export const DELIVERY_SK = 'DELIVERY';
/** How long a handled delivery is remembered: longer than GitHub keeps deliveries to redeliver. */
export const DELIVERY_RETENTION_SECONDS = 30 * 24 * 3600;
/**
 * A `processing` claim older than this belongs to an invocation that died (the function times out
 * long before), so another may take it over.
 */
export const DELIVERY_CLAIM_TIMEOUT_MS = 5 * 60_000;

/** A delivery id that cannot be part of a ledger key. Permanent. */
export class DeliveryIdFormatError extends AwsAdapterError {
  public constructor() {
    // The id itself is not repeated: it is unauthenticated text of any length.
    super('A GitHub delivery id must be 1-100 characters of A-Z a-z 0-9 and "-"');
    this.name = 'DeliveryIdFormatError';
  }
}

/** Props of {@link DynamoDeliveryLog}. */
export interface DynamoDeliveryLogProps {
  /** A document client, built once per container. */
  readonly client: DynamoDBDocumentClient;
  /** The ledger table. */
  readonly tableName: string;
}

const DeliveryItemSchema = z.object({
  status: z.enum(['processing', 'done']),
  claimedAtMs: z.number().optional(),
});

// Attempts of claim when the holder releases between our failed put and our read.
const CLAIM_ATTEMPTS = 3;

/**
 * {@link DeliveryLogPort} on the ledger table: one item per delivery, `pk=GITHUB_DELIVERY#<id>`,
 * `sk=DELIVERY`, with `status` (`processing` | `done`), `claimedAtMs` and `ttl` (epoch seconds, 30
 * days on; DynamoDB deletes the item once the table's TTL is on `ttl`). A claim is one conditional
 * PutItem, so two invocations of the same delivery never both proceed.
 */
export class DynamoDeliveryLog implements DeliveryLogPort {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  // When this container claimed each delivery it is still working on: release then deletes only
  // its own claim, never one another invocation took over after ours went stale.
  readonly #ownClaims = new Map<string, number>();

  public constructor(props: DynamoDeliveryLogProps) {
    this.#client = props.client;
    this.#tableName = props.tableName;
  }

  /**
   * @throws {DeliveryIdFormatError} when `deliveryId` is not GitHub-shaped (permanent)
   * @throws {AwsServiceError} when DynamoDB failed
   */
  public async claim(deliveryId: string, now: Date): Promise<DeliveryClaim> {
    const pk = deliveryPk(deliveryId);
    const claimedAtMs = now.getTime();
    const { PutCommand } = await dynamoDocumentSdk();
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: {
              pk,
              sk: DELIVERY_SK,
              deliveryId,
              status: 'processing',
              claimedAt: now.toISOString(),
              claimedAtMs,
              ttl: ttlOf(now),
            },
            ConditionExpression:
              'attribute_not_exists(pk) OR (#status = :processing AND claimedAtMs < :staleBefore)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':processing': 'processing',
              ':staleBefore': claimedAtMs - DELIVERY_CLAIM_TIMEOUT_MS,
            },
          }),
        );
        this.#ownClaims.set(deliveryId, claimedAtMs);
        return 'claimed';
      } catch (error) {
        if (!isConditionFailure(error)) throw this.#wrap(error, 'PutItem', pk);
      }
      const held = await this.#get(pk);
      if (held !== undefined) return held.status === 'done' ? 'done' : 'in_progress';
      if (attempt >= CLAIM_ATTEMPTS) {
        throw new AwsAdapterError(`The claim of GitHub delivery ${deliveryId} kept changing hands`, {
          retryable: true,
        });
      }
    }
  }

  /** Sets `status = done` (and a fresh `ttl`), whoever holds the claim: the work is done. */
  public async complete(deliveryId: string, now: Date): Promise<void> {
    const pk = deliveryPk(deliveryId);
    const { UpdateCommand } = await dynamoDocumentSdk();
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk, sk: DELIVERY_SK },
          UpdateExpression: 'SET #status = :done, deliveryId = :id, completedAt = :at, #ttl = :ttl',
          // `ttl` is a DynamoDB reserved word.
          ExpressionAttributeNames: { '#status': 'status', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':done': 'done',
            ':id': deliveryId,
            ':at': now.toISOString(),
            ':ttl': ttlOf(now),
          },
        }),
      );
    } catch (error) {
      throw this.#wrap(error, 'UpdateItem', pk);
    } finally {
      this.#ownClaims.delete(deliveryId);
    }
  }

  /** Deletes the claim while it is still `processing` (and ours, when this container took it). */
  public async release(deliveryId: string): Promise<void> {
    const pk = deliveryPk(deliveryId);
    const ownClaimedAtMs = this.#ownClaims.get(deliveryId);
    const { DeleteCommand } = await dynamoDocumentSdk();
    try {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.#tableName,
          Key: { pk, sk: DELIVERY_SK },
          ConditionExpression:
            ownClaimedAtMs === undefined
              ? '#status = :processing'
              : '#status = :processing AND claimedAtMs = :mine',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':processing': 'processing',
            ...(ownClaimedAtMs === undefined ? {} : { ':mine': ownClaimedAtMs }),
          },
        }),
      );
    } catch (error) {
      // Done meanwhile, gone, or taken over: there is no claim of ours to release.
      if (!isConditionFailure(error)) throw this.#wrap(error, 'DeleteItem', pk);
    } finally {
      this.#ownClaims.delete(deliveryId);
    }
  }

  async #get(pk: string): Promise<z.infer<typeof DeliveryItemSchema> | undefined> {
    let item: Record<string, unknown> | undefined;
    const { GetCommand } = await dynamoDocumentSdk();
    try {
      ({ Item: item } = await this.#client.send(
        new GetCommand({ TableName: this.#tableName, Key: { pk, sk: DELIVERY_SK }, ConsistentRead: true }),
      ));
    } catch (error) {
      throw this.#wrap(error, 'GetItem', pk);
    }
    if (item === undefined) return undefined;
    const parsed = DeliveryItemSchema.safeParse(item);
    if (!parsed.success) {
      throw new LedgerItemFormatError(`${pk}/${DELIVERY_SK}`, issueSummaries(parsed.error.issues));
    }
    return parsed.data;
  }

  #wrap(error: unknown, operation: string, pk: string) {
    return wrapAwsError(error, {
      service: 'DynamoDB',
      operation,
      resource: `${this.#tableName}/${pk}/${DELIVERY_SK}`,
    });
  }
}

/** The partition key of a delivery; the id is checked first, so it cannot shape another key. */
export function deliveryPk(deliveryId: string): string {
  if (!GITHUB_DELIVERY_ID_PATTERN.test(deliveryId)) throw new DeliveryIdFormatError();
  return `${DELIVERY_PK_PREFIX}${deliveryId}`;
}

function ttlOf(now: Date): number {
  return Math.floor(now.getTime() / 1000) + DELIVERY_RETENTION_SECONDS;
}

function isConditionFailure(error: unknown): boolean {
  return awsErrorCode(error) === 'ConditionalCheckFailedException';
}
