import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { FINGERPRINT_STAGES, type FingerprintEntry, FingerprintSchema } from '#core/fingerprint.js';
import { ClientKindSchema, ConsumerNameSchema, TriggerSchema } from '#core/model.js';
import {
  type ConsumerReport,
  type DecisionAnswer,
  type EscalationKind,
  type LeakReportRecord,
  type LedgerPort,
  type LockResult,
  MAX_REFUSED_REPORTS,
  type RefusedReport,
  ROTATION_STATUSES,
  type RotationLock,
  type RotationPatch,
  type RotationRecord,
} from '#core/ports.js';
import { type ClientRegistration, ClientRegistrationSchema, type RegistryPort } from '#core/registry.js';
import { parseOrThrow } from '#core/validate.js';
import {
  AwsAdapterError,
  awsErrorCode,
  issueSummaries,
  LedgerItemFormatError,
  RotationNotFoundError,
  wrapAwsError,
} from './errors.js';

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
  };
}

/** Props of {@link DynamoLedger}. */
export interface DynamoLedgerProps {
  /**
   * A document client, built once per container. Build it with
   * `marshallOptions: { removeUndefinedValues: true }` or not: the ledger never writes undefined.
   */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

const LockItemSchema = z.object({
  pk: z.string(),
  rotationId: z.string(),
  expiresAt: z.string(),
  executionId: z.string().optional(),
});

const ReportSchema = z.object({
  healthy: z.boolean(),
  detail: z.string().optional(),
  reportedAt: z.string(),
});

const RotationItemSchema = z.object({
  clientId: z.string(),
  rotationId: z.string(),
  clientKind: ClientKindSchema,
  trigger: TriggerSchema,
  reason: z.string().optional(),
  requestedBy: z.string().optional(),
  executionId: z.string(),
  status: z.enum(ROTATION_STATUSES),
  steps: z.record(z.string(), z.string()),
  deadline: z.string().optional(),
  pendingVersionId: z.string().optional(),
  pendingLastFour: z.string().optional(),
  previousLastFour: z.string().optional(),
  expectedConsumers: z.array(z.string()),
  reports: z.record(z.string(), ReportSchema),
  taskToken: z.string().optional(),
  decidedAt: z.string().optional(),
  decision: z
    .discriminatedUnion('kind', [
      z.object({ kind: z.literal('succeed'), reason: z.string() }),
      z.object({ kind: z.literal('fail'), error: z.string(), cause: z.string() }),
    ])
    .optional(),
  answeredAt: z.string().optional(),
  outcomeReason: z.string().optional(),
  error: z.object({ name: z.string(), message: z.string() }).optional(),
  escalatedComplete: z.string().optional(),
  escalatedCancel: z.string().optional(),
  refusedReports: z
    .array(z.object({ claimed: z.string(), source: z.string(), healthy: z.boolean(), at: z.string() }))
    .optional(),
  refusedReportCount: z.number().int().nonnegative().optional(),
});

const LeakReportItemSchema = z.object({
  clientId: z.string(),
  eventId: z.string(),
  receivedAt: z.string(),
  source: z.string(),
  reference: z.string().optional(),
  matchedBy: z.enum(['client_id', 'fingerprint']),
  fingerprintPrefix: z.string().optional(),
  leaked: z.enum(['current', 'pending', 'dead']),
  outcome: z.discriminatedUnion('result', [
    z.object({ result: z.literal('rotation_started'), executionArn: z.string() }),
    z.object({
      result: z.literal('escalated'),
      rotationId: z.string(),
      escalation: z.enum(['complete', 'cancel']),
    }),
    z.object({ result: z.literal('already_dead') }),
    z.object({ result: z.literal('leak_rotation_running'), rotationId: z.string() }),
  ]),
});

const LeakEventGuardSchema = z.object({ reportSk: z.string(), receivedAt: z.string() });

// Attempts of acquireLock when the holder vanishes between the failed put and the read.
const LOCK_ATTEMPTS = 3;
// Attempts of recordRefusedReport when other refusals keep landing between its read and its write.
const REFUSED_REPORT_ATTEMPTS = 5;

/**
 * {@link LedgerPort} over one DynamoDB table. Every write two actors could race on is a single
 * conditional write, so the lock, the consumer reports and the wait's decision are race-free
 * without transactions:
 *
 * - lock: `pk=<clientId>, sk=LOCK` with `rotationId`, `expiresAt` (ISO) and `expiresAtMs`
 *   (epoch ms, what the condition compares, so timestamps in other offsets compare right);
 * - rotation: `pk=<clientId>, sk=ROTATION#<rotationId>`, the record's fields as attributes, and
 *   `startedAt` (= `steps.started`), the sort key of the `byStartedAt` LSI;
 * - leak report: `pk=<clientId>, sk=LEAK#<receivedAt>#<eventId>` and its idempotency guard
 *   `sk=LEAKEVENT#<eventId>`, both with `ttl` (see {@link DynamoLedger.recordLeakReport}).
 *
 * Reads after a conditional failure are strongly consistent.
 */
export class DynamoLedger implements LedgerPort, RegistryPort {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  public constructor(props: DynamoLedgerProps) {
    this.#client = props.client;
    this.#tableName = props.tableName;
  }

  /**
   * One conditional PutItem: succeeds when there is no lock, the lock is ours already (a retried
   * step: the expiry is renewed), or the holder's lock has expired.
   */
  public async acquireLock(lock: RotationLock, now: Date): Promise<LockResult> {
    const item = lockItem(lock);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk) OR rotationId = :me OR expiresAtMs < :now',
            ExpressionAttributeValues: { ':me': lock.rotationId, ':now': now.getTime() },
          }),
        );
        return { acquired: true };
      } catch (error) {
        if (!isConditionFailure(error)) throw this.#wrap(error, 'PutItem', `${lock.clientId}/LOCK`);
      }
      const heldBy = await this.getLock(lock.clientId);
      if (heldBy !== null) return { acquired: false, heldBy };
      // Released between our put and our read: try again (the race is over in one round trip).
      if (attempt >= LOCK_ATTEMPTS) {
        throw new AwsAdapterError(`The lock of client ${lock.clientId} kept changing hands; try again`, {
          retryable: true,
        });
      }
    }
  }

  /** One conditional PutItem: replaces the lock only while `staleRotationId` still holds it. */
  public async takeOverLock(lock: RotationLock, staleRotationId: string): Promise<boolean> {
    const item = lockItem(lock);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: item,
          ConditionExpression: 'rotationId = :stale OR rotationId = :me',
          ExpressionAttributeValues: { ':stale': staleRotationId, ':me': lock.rotationId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.#wrap(error, 'PutItem', `${lock.clientId}/LOCK`);
    }
  }

  public async releaseLock(clientId: string, rotationId: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.#tableName,
          Key: { pk: clientId, sk: LOCK_SK },
          ConditionExpression: 'rotationId = :me',
          ExpressionAttributeValues: { ':me': rotationId },
        }),
      );
    } catch (error) {
      // Not held, or held by another rotation: nothing of ours to release.
      if (!isConditionFailure(error)) throw this.#wrap(error, 'DeleteItem', `${clientId}/LOCK`);
    }
  }

  public async getLock(clientId: string): Promise<RotationLock | null> {
    const item = await this.#get(clientId, LOCK_SK);
    if (item === undefined) return null;
    const parsed = LockItemSchema.safeParse(item);
    if (!parsed.success) {
      throw new LedgerItemFormatError(`${clientId}/LOCK`, issueSummaries(parsed.error.issues));
    }
    return {
      clientId,
      rotationId: parsed.data.rotationId,
      expiresAt: parsed.data.expiresAt,
      ...(parsed.data.executionId === undefined ? {} : { executionId: parsed.data.executionId }),
    };
  }

  /** Conditional PutItem (`attribute_not_exists(sk)`); on conflict, the stored record wins. */
  public async createRotation(record: RotationRecord): Promise<RotationRecord> {
    const item = toItem(record);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return toRecord(item);
    } catch (error) {
      if (!isConditionFailure(error)) throw this.#wrap(error, 'PutItem', describeKey(record));
    }
    const stored = await this.getRotation(record.clientId, record.rotationId);
    // Deleted between our put and our read: only an operator does that.
    if (stored === null) throw new RotationNotFoundError(record.clientId, record.rotationId);
    return stored;
  }

  public async getRotation(clientId: string, rotationId: string): Promise<RotationRecord | null> {
    const item = await this.#get(clientId, rotationSk(rotationId));
    return item === undefined ? null : toRecord(item);
  }

  /**
   * One UpdateItem: `SET` per patched field and `SET steps.#k` per step timestamp (merged into
   * the map created with the record), conditional on the record existing.
   * @throws {RotationNotFoundError} when the record does not exist (permanent)
   */
  public async updateRotation(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
  ): Promise<RotationRecord> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    let n = 0;
    const { steps, ...fields } = patch;
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      n += 1;
      names[`#f${n}`] = field;
      values[`:v${n}`] = value;
      sets.push(`#f${n} = :v${n}`);
    }
    for (const [step, at] of Object.entries(steps ?? {})) {
      n += 1;
      names[`#s${n}`] = step;
      values[`:v${n}`] = at;
      sets.push(`steps.#s${n} = :v${n}`);
    }
    if (sets.length === 0) {
      const stored = await this.getRotation(clientId, rotationId);
      if (stored === null) throw new RotationNotFoundError(clientId, rotationId);
      return stored;
    }
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: clientId, sk: rotationSk(rotationId) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) throw new RotationNotFoundError(clientId, rotationId, { cause: error });
      throw this.#wrap(error, 'UpdateItem', `${clientId}/${rotationSk(rotationId)}`);
    }
  }

  /**
   * `SET reports.#consumer = :report` while `status = pending`: each consumer writes only its own
   * map entry, so concurrent reports all land. Null when the rotation is not pending (or absent).
   * @throws {InvalidInputError} when `consumer` is not a consumer name: `__proto__` in particular,
   *   which DynamoDB would store but the document client's unmarshalling turns into the map's
   *   prototype, so the report would vanish on the next read
   */
  public async recordReport(
    clientId: string,
    rotationId: string,
    consumer: string,
    report: ConsumerReport,
  ): Promise<RotationRecord | null> {
    parseOrThrow(ConsumerNameSchema, consumer, 'consumer name of a report');
    const stored: Record<string, unknown> = { healthy: report.healthy, reportedAt: report.reportedAt };
    if (report.detail !== undefined) stored.detail = report.detail;
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: clientId, sk: rotationSk(rotationId) },
          UpdateExpression: 'SET reports.#consumer = :report',
          ConditionExpression: '#status IN (:started, :pending)',
          ExpressionAttributeNames: { '#consumer': consumer, '#status': 'status' },
          ExpressionAttributeValues: { ':report': stored, ':started': 'started', ':pending': 'pending' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw this.#wrap(error, 'UpdateItem', `${clientId}/${rotationSk(rotationId)}`);
    }
  }

  /**
   * Read, then one UpdateItem `SET refusedReports = :kept, refusedReportCount = :next` conditional
   * on the count it read (an optimistic lock: of two concurrent refusals the second re-reads and
   * appends to the first's list, so both land). `reports` is never in the expression. Retried a
   * few times under contention, then a retryable error (the event is delivered again).
   */
  public async recordRefusedReport(
    clientId: string,
    rotationId: string,
    refused: RefusedReport,
  ): Promise<boolean> {
    const key = `${clientId}/${rotationSk(rotationId)}`;
    for (let attempt = 1; ; attempt += 1) {
      const record = await this.getRotation(clientId, rotationId);
      if (record === null) return false;
      const count = record.refusedReportCount ?? 0;
      const kept = [
        ...(record.refusedReports ?? []),
        { claimed: refused.claimed, source: refused.source, healthy: refused.healthy, at: refused.at },
      ].slice(-MAX_REFUSED_REPORTS);
      try {
        await this.#client.send(
          new UpdateCommand({
            TableName: this.#tableName,
            Key: { pk: clientId, sk: rotationSk(rotationId) },
            UpdateExpression: 'SET refusedReports = :kept, refusedReportCount = :next',
            ConditionExpression:
              count === 0
                ? 'attribute_exists(sk) AND attribute_not_exists(refusedReportCount)'
                : 'attribute_exists(sk) AND refusedReportCount = :count',
            ExpressionAttributeValues: {
              ':kept': kept,
              ':next': count + 1,
              ...(count === 0 ? {} : { ':count': count }),
            },
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw this.#wrap(error, 'UpdateItem', key);
      }
      // Another refusal landed between our read and our write: read again and append to it.
      if (attempt >= REFUSED_REPORT_ATTEMPTS) {
        throw new AwsAdapterError(`The refused reports of ${key} kept changing; try again`, {
          retryable: true,
        });
      }
    }
  }

  /**
   * `SET decidedAt` unless it is set: true for exactly one caller.
   * @throws {RotationNotFoundError} when the record does not exist (the condition also requires
   *   it, so an UpdateItem never creates a stub record)
   */
  public async claimDecision(
    clientId: string,
    rotationId: string,
    decidedAt: string,
    answer: DecisionAnswer,
  ): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: clientId, sk: rotationSk(rotationId) },
          UpdateExpression: 'SET decidedAt = :t, decision = :d',
          ConditionExpression: 'attribute_exists(sk) AND attribute_not_exists(decidedAt)',
          ExpressionAttributeValues: { ':t': decidedAt, ':d': answer },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error))
        throw this.#wrap(error, 'UpdateItem', `${clientId}/${rotationSk(rotationId)}`);
    }
    if ((await this.#get(clientId, rotationSk(rotationId))) === undefined) {
      throw new RotationNotFoundError(clientId, rotationId);
    }
    return false;
  }

  /** `SET answeredAt` once (a repeated answer keeps the first time). */
  public async markAnswered(clientId: string, rotationId: string, answeredAt: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: clientId, sk: rotationSk(rotationId) },
          UpdateExpression: 'SET answeredAt = if_not_exists(answeredAt, :t)',
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeValues: { ':t': answeredAt },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new RotationNotFoundError(clientId, rotationId);
      throw this.#wrap(error, 'UpdateItem', `${clientId}/${rotationSk(rotationId)}`);
    }
  }

  /** Queries the `byStartedAt` LSI backwards: newest first. */
  public async listRotations(clientId: string, limit: number): Promise<readonly RotationRecord[]> {
    const records: RotationRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    while (records.length < limit) {
      let page: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> };
      try {
        page = await this.#client.send(
          new QueryCommand({
            TableName: this.#tableName,
            IndexName: BY_STARTED_AT_INDEX,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': clientId },
            ScanIndexForward: false,
            Limit: limit - records.length,
            ExclusiveStartKey: startKey,
          }),
        );
      } catch (error) {
        throw this.#wrap(error, 'Query', `${clientId}@${BY_STARTED_AT_INDEX}`);
      }
      for (const item of page.Items ?? []) records.push(toRecord(item));
      startKey = page.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return records;
  }

  /**
   * Two conditional PutItems, no transaction: first the guard `LEAKEVENT#<eventId>` (naming the
   * report's sort key), then the report `LEAK#<receivedAt>#<eventId>`. A redelivery finds the
   * guard and writes under the first delivery's key, so there is never a second item; and if the
   * first delivery died between the two writes, the redelivery writes the report it left unwritten.
   * Both items carry `ttl` (epoch seconds, {@link LEAK_REPORT_RETENTION_DAYS} after `receivedAt`).
   */
  public async recordLeakReport(report: LeakReportRecord): Promise<boolean> {
    const receivedAtMs = Date.parse(report.receivedAt);
    if (Number.isNaN(receivedAtMs)) {
      throw new LedgerItemFormatError(`leak report ${report.eventId} of ${report.clientId}`, [
        'receivedAt: invalid_date',
      ]);
    }
    // The ISO form in UTC, so sort keys compare in time order whatever offset the caller used.
    let receivedAt = new Date(receivedAtMs).toISOString();
    const ttl = Math.floor(receivedAtMs / 1000) + LEAK_REPORT_RETENTION_DAYS * 24 * 60 * 60;
    const guardSk = `${LEAK_EVENT_SK_PREFIX}${report.eventId}`;
    let reportSk = leakSk(receivedAt, report.eventId);
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { pk: report.clientId, sk: guardSk, reportSk, receivedAt, ttl },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw this.#wrap(error, 'PutItem', `${report.clientId}/${guardSk}`);
      const guard = LeakEventGuardSchema.safeParse(await this.#get(report.clientId, guardSk));
      if (!guard.success) {
        throw new LedgerItemFormatError(`${report.clientId}/${guardSk}`, issueSummaries(guard.error.issues));
      }
      ({ reportSk, receivedAt } = guard.data);
    }
    const fields = Object.fromEntries(Object.entries(report).filter(([, value]) => value !== undefined));
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: {
            ...fields,
            outcome: { ...report.outcome },
            receivedAt,
            pk: report.clientId,
            sk: reportSk,
            ttl,
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw this.#wrap(error, 'PutItem', `${report.clientId}/${reportSk}`);
    }
  }

  /** Queries `LEAK#*` of the client backwards: newest first (the guards sort apart, as `LEAKEVENT#`). */
  public async listLeakReports(clientId: string, limit: number): Promise<readonly LeakReportRecord[]> {
    const reports: LeakReportRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    while (reports.length < limit) {
      let page: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> };
      try {
        page = await this.#client.send(
          new QueryCommand({
            TableName: this.#tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :leak)',
            ExpressionAttributeValues: { ':pk': clientId, ':leak': LEAK_SK_PREFIX },
            ScanIndexForward: false,
            Limit: limit - reports.length,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
      } catch (error) {
        throw this.#wrap(error, 'Query', `${clientId}/${LEAK_SK_PREFIX}*`);
      }
      for (const item of page.Items ?? []) reports.push(toLeakReport(item));
      startKey = page.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return reports;
  }

  async #get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.#client.send(
        new GetCommand({ TableName: this.#tableName, Key: { pk, sk }, ConsistentRead: true }),
      );
      return Item;
    } catch (error) {
      throw this.#wrap(error, 'GetItem', `${pk}/${sk}`);
    }
  }

  /**
   * `SET escalated<Kind> = if_not_exists(..., :at)` while the rotation is `started` or `pending`:
   * the same conditional write the reports use, so an escalation either lands before the rotation
   * ends (and the step that ends it sees it) or is refused (null) and the caller acts on its own.
   */
  public async escalateRotation(
    clientId: string,
    rotationId: string,
    kind: EscalationKind,
    at: string,
  ): Promise<RotationRecord | null> {
    const field = kind === 'complete' ? 'escalatedComplete' : 'escalatedCancel';
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: clientId, sk: rotationSk(rotationId) },
          UpdateExpression: 'SET #field = if_not_exists(#field, :at)',
          ConditionExpression: '#status IN (:started, :pending)',
          ExpressionAttributeNames: { '#field': field, '#status': 'status' },
          ExpressionAttributeValues: { ':at': at, ':started': 'started', ':pending': 'pending' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw this.#wrap(error, 'UpdateItem', `${clientId}/${rotationSk(rotationId)}`);
    }
  }

  /**
   * The name item (`REGISTRY` / `NAME#<name>`) is the idempotency key: a conditional PutItem, so
   * of two registrations of one name the first wins. The client item (`CLIENT#<id>`) follows.
   */
  public async putRegistration(registration: ClientRegistration): Promise<ClientRegistration> {
    const nameKey = { pk: REGISTRY_PK, sk: `${REGISTRY_NAME_PREFIX}${registration.name}` };
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { ...registration, ...nameKey },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw this.#wrap(error, 'PutItem', `${nameKey.pk}/${nameKey.sk}`);
      const stored = await this.findRegistrationByName(registration.name);
      if (stored !== null) return stored;
    }
    const clientSk = `${REGISTRY_CLIENT_PREFIX}${registration.clientId}`;
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { ...registration, pk: REGISTRY_PK, sk: clientSk },
        }),
      );
    } catch (error) {
      throw this.#wrap(error, 'PutItem', `${REGISTRY_PK}/${clientSk}`);
    }
    return registration;
  }

  public async findRegistrationByName(name: string): Promise<ClientRegistration | null> {
    return this.#registration(`${REGISTRY_NAME_PREFIX}${name}`);
  }

  public async getRegistration(clientId: string): Promise<ClientRegistration | null> {
    return this.#registration(`${REGISTRY_CLIENT_PREFIX}${clientId}`);
  }

  public async listRegistrations(): Promise<readonly ClientRegistration[]> {
    const registrations: ClientRegistration[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      let page: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> };
      try {
        page = await this.#client.send(
          new QueryCommand({
            TableName: this.#tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :client)',
            ExpressionAttributeValues: { ':pk': REGISTRY_PK, ':client': REGISTRY_CLIENT_PREFIX },
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
      } catch (error) {
        throw this.#wrap(error, 'Query', `${REGISTRY_PK}/${REGISTRY_CLIENT_PREFIX}*`);
      }
      for (const item of page.Items ?? []) registrations.push(parseRegistration(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return registrations;
  }

  async #registration(sk: string): Promise<ClientRegistration | null> {
    const item = await this.#get(REGISTRY_PK, sk);
    return item === undefined ? null : parseRegistration(item);
  }

  /** One PutItem: the latest change of a secret wins (stored, promoted, cancelled). */
  public async putFingerprint(entry: FingerprintEntry): Promise<void> {
    const pk = fingerprintPk(entry.fingerprint);
    try {
      await this.#client.send(
        new PutCommand({ TableName: this.#tableName, Item: { ...entry, pk, sk: FINGERPRINT_SK } }),
      );
    } catch (error) {
      throw this.#wrap(error, 'PutItem', `${pk}/${FINGERPRINT_SK}`);
    }
  }

  public async findFingerprint(fingerprint: string): Promise<FingerprintEntry | null> {
    const pk = fingerprintPk(fingerprint);
    const item = await this.#get(pk, FINGERPRINT_SK);
    if (item === undefined) return null;
    const parsed = FingerprintItemSchema.safeParse(item);
    if (!parsed.success) {
      throw new LedgerItemFormatError(`${pk}/${FINGERPRINT_SK}`, issueSummaries(parsed.error.issues));
    }
    return parsed.data;
  }

  #wrap(error: unknown, operation: string, key: string) {
    return wrapAwsError(error, { service: 'DynamoDB', operation, resource: `${this.#tableName}/${key}` });
  }
}

function parseRegistration(item: Record<string, unknown>): ClientRegistration {
  const { pk: _pk, sk, ...fields } = item;
  const parsed = ClientRegistrationSchema.safeParse(fields);
  if (!parsed.success) {
    throw new LedgerItemFormatError(`${REGISTRY_PK}/${String(sk)}`, issueSummaries(parsed.error.issues));
  }
  return parsed.data;
}

function fingerprintPk(fingerprint: string): string {
  return `${FINGERPRINT_PK_PREFIX}${fingerprint}`;
}

const FingerprintItemSchema = z.object({
  fingerprint: FingerprintSchema,
  clientId: z.string(),
  clientKind: ClientKindSchema,
  stage: z.enum(FINGERPRINT_STAGES),
  versionId: z.string(),
  lastFour: z.string(),
  updatedAt: z.string(),
});

function leakSk(receivedAt: string, eventId: string): string {
  return `${LEAK_SK_PREFIX}${receivedAt}#${eventId}`;
}

function toLeakReport(item: Record<string, unknown>): LeakReportRecord {
  const parsed = LeakReportItemSchema.safeParse(item);
  if (!parsed.success) {
    throw new LedgerItemFormatError(
      `${String(item.pk)}/${String(item.sk)}`,
      issueSummaries(parsed.error.issues),
    );
  }
  // zod drops keys it does not know (pk, sk, ttl), so the record holds exactly the port's fields.
  return Object.fromEntries(
    Object.entries(parsed.data).filter(([, value]) => value !== undefined),
  ) as unknown as LeakReportRecord;
}

function rotationSk(rotationId: string): string {
  return `${ROTATION_SK_PREFIX}${rotationId}`;
}

function describeKey(record: RotationRecord): string {
  return `${record.clientId}/${rotationSk(record.rotationId)}`;
}

function isConditionFailure(error: unknown): boolean {
  return awsErrorCode(error) === 'ConditionalCheckFailedException';
}

/**
 * The lock's item: `expiresAtMs` (epoch ms) is what the conditions compare, so timestamps written
 * with other offsets compare right; an expiry that is not a date is refused before any write.
 */
function lockItem(lock: RotationLock): Record<string, unknown> {
  const expiresAtMs = Date.parse(lock.expiresAt);
  if (Number.isNaN(expiresAtMs)) {
    throw new LedgerItemFormatError(`lock of ${lock.clientId}`, ['expiresAt: invalid_date']);
  }
  return {
    pk: lock.clientId,
    sk: LOCK_SK,
    rotationId: lock.rotationId,
    expiresAt: lock.expiresAt,
    expiresAtMs,
    ...(lock.executionId === undefined ? {} : { executionId: lock.executionId }),
  };
}

/** A record as a table item: its fields, the keys and the LSI sort key; no undefined values. */
function toItem(record: RotationRecord): Record<string, unknown> {
  const startedAt = record.steps.started;
  if (startedAt === undefined) {
    throw new LedgerItemFormatError(describeKey(record), ['steps.started: required']);
  }
  const fields = Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
  return {
    ...fields,
    steps: { ...record.steps },
    reports: { ...record.reports },
    expectedConsumers: [...record.expectedConsumers],
    pk: record.clientId,
    sk: rotationSk(record.rotationId),
    startedAt,
  };
}

function toRecord(item: Record<string, unknown>): RotationRecord {
  const { pk: _pk, sk, startedAt: _startedAt, ...fields } = item;
  const parsed = RotationItemSchema.safeParse(fields);
  if (!parsed.success) {
    throw new LedgerItemFormatError(
      `${String(item.clientId ?? _pk)}/${String(sk)}`,
      issueSummaries(parsed.error.issues),
    );
  }
  // zod drops keys it does not know, so the record holds exactly the port's fields.
  const record: Record<string, unknown> = Object.fromEntries(
    Object.entries(parsed.data).filter(([, value]) => value !== undefined),
  );
  return record as unknown as RotationRecord;
}
