import * as z from 'zod';
import type { FleetRotationSummary } from '#core/fleetRotation.js';
import { ClientKindSchema, ConsumerNameSchema, TriggerSchema } from '#core/model.js';
import {
  type ConsumerReport,
  type DecidedBy,
  type DecisionAnswer,
  type EscalationKind,
  MAX_REFUSED_REPORTS,
  type RefusedReport,
  ROTATION_STATUSES,
  type RotationLedgerPort,
  type RotationPatch,
  type RotationRecord,
} from '#core/ports.js';
import { parseOrThrow } from '#core/validate.js';
import { AwsAdapterError, LedgerItemFormatError, RotationNotFoundError } from '../errors.js';
import {
  BY_FLEET_RUN_INDEX,
  BY_STARTED_AT_INDEX,
  definedFields,
  type LedgerItem,
  LedgerTable,
  type LedgerTableProps,
  parseItem,
  ROTATION_SK_PREFIX,
} from './ledgerTable.js';

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
  fleetRun: z.string().optional(),
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
  decidedBy: z.literal('waiter').optional(),
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

// What the byFleetRun index projects (keys and status).
const FleetRunItemSchema = z.object({ clientId: z.string(), status: z.enum(ROTATION_STATUSES) });

// Attempts of recordRefusedReport when other refusals keep landing between its read and its write.
const REFUSED_REPORT_ATTEMPTS = 5;

// The condition of every write a live rotation accepts and an ended one refuses.
const WHILE_LIVE = '#status IN (:started, :pending)';
const LIVE_STATUSES = { ':started': 'started', ':pending': 'pending' } as const;

// The condition under which the waiter's own context decides the wait: the record is live, expects
// no consumer, carries no leak escalation and is not decided yet (see keepTokenAndClaim).
const DECIDED_BY_CONTEXT =
  'attribute_not_exists(decidedAt) AND attribute_not_exists(escalatedCancel) AND ' +
  `attribute_not_exists(escalatedComplete) AND size(expectedConsumers) = :noConsumers AND ${WHILE_LIVE}`;

/**
 * {@link RotationLedgerPort} over the ledger table: `pk=<clientId>, sk=ROTATION#<rotationId>`, the
 * record's fields as attributes, and `startedAt` (= `steps.started`), the sort key of the
 * `byStartedAt` LSI. Every write two actors could race on (the consumer reports, the wait's
 * decision, escalations, refused reports) is a single conditional write, without transactions.
 */
export class RotationRecords implements RotationLedgerPort {
  readonly #table: LedgerTable;

  public constructor(props: LedgerTableProps) {
    this.#table = new LedgerTable(props);
  }

  /** Conditional PutItem (`attribute_not_exists(sk)`); on conflict, the stored record wins. */
  public async createRotation(record: RotationRecord): Promise<RotationRecord> {
    const item = rotationItem(record);
    const put = await this.#table.put({ Item: item, ConditionExpression: 'attribute_not_exists(sk)' });
    if (put.written) return toRecord(item);
    const stored = await this.getRotation(record.clientId, record.rotationId);
    // Deleted between our put and our read: only an operator does that.
    if (stored === null) throw new RotationNotFoundError(record.clientId, record.rotationId);
    return stored;
  }

  public async getRotation(clientId: string, rotationId: string): Promise<RotationRecord | null> {
    const item = await this.#table.get(clientId, rotationSk(rotationId));
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
    const write = rotationPatchUpdate(clientId, rotationId, patch);
    if (write === null) {
      const stored = await this.getRotation(clientId, rotationId);
      if (stored === null) throw new RotationNotFoundError(clientId, rotationId);
      return stored;
    }
    const update = await this.#table.update({ ...write, ReturnValues: 'ALL_NEW' });
    if (!update.written) throw new RotationNotFoundError(clientId, rotationId, { cause: update.refusal });
    return toRecord(update.output ?? {});
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
    return this.#updateWhileLive(clientId, rotationId, 'SET reports.#consumer = :report', {
      names: { '#consumer': consumer },
      values: { ':report': stored },
    });
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
    for (let attempt = 1; ; attempt += 1) {
      const record = await this.getRotation(clientId, rotationId);
      if (record === null) return false;
      const count = record.refusedReportCount ?? 0;
      const kept = [
        ...(record.refusedReports ?? []),
        { claimed: refused.claimed, source: refused.source, healthy: refused.healthy, at: refused.at },
      ].slice(-MAX_REFUSED_REPORTS);
      const update = await this.#table.update({
        Key: rotationKey(clientId, rotationId),
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
      });
      if (update.written) return true;
      // Another refusal landed between our read and our write: read again and append to it.
      if (attempt >= REFUSED_REPORT_ATTEMPTS) {
        throw new AwsAdapterError(
          `The refused reports of ${clientId}/${rotationSk(rotationId)} kept changing; try again`,
          { retryable: true },
        );
      }
    }
  }

  /**
   * `SET decidedAt` (with the answer, and `decidedBy` when given) unless it is set: true for
   * exactly one caller.
   * @throws {RotationNotFoundError} when the record does not exist (the condition also requires
   *   it, so an UpdateItem never creates a stub record)
   */
  public async claimDecision(
    clientId: string,
    rotationId: string,
    decidedAt: string,
    answer: DecisionAnswer,
    decidedBy?: DecidedBy,
  ): Promise<boolean> {
    const update = await this.#table.update({
      Key: rotationKey(clientId, rotationId),
      UpdateExpression: `SET decidedAt = :t, decision = :d${decidedBy === undefined ? '' : ', decidedBy = :by'}`,
      ConditionExpression: 'attribute_exists(sk) AND attribute_not_exists(decidedAt)',
      ExpressionAttributeValues: {
        ':t': decidedAt,
        ':d': answer,
        ...(decidedBy === undefined ? {} : { ':by': decidedBy }),
      },
    });
    if (update.written) return true;
    if ((await this.#table.get(clientId, rotationSk(rotationId))) === undefined) {
      throw new RotationNotFoundError(clientId, rotationId);
    }
    return false;
  }

  /**
   * One UpdateItem: the patch's `SET`s (as {@link updateRotation}) and the claim's (`decidedAt`,
   * `decision`, `decidedBy = waiter`), conditional on the record existing, being live, expecting no
   * consumer (`size(expectedConsumers) = 0`), carrying no escalation and being undecided. False when
   * the condition failed (nothing written): the caller makes the separate writes, which settle why.
   */
  public async keepTokenAndClaim(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    decidedAt: string,
    answer: DecisionAnswer,
  ): Promise<boolean> {
    const update = await this.#table.update(
      claimByContextUpdate(clientId, rotationId, patch, decidedAt, answer),
    );
    return update.written;
  }

  /** `SET answeredAt` once (a repeated answer keeps the first time). */
  public async markAnswered(clientId: string, rotationId: string, answeredAt: string): Promise<void> {
    const update = await this.#table.update({
      Key: rotationKey(clientId, rotationId),
      UpdateExpression: 'SET answeredAt = if_not_exists(answeredAt, :t)',
      ConditionExpression: 'attribute_exists(sk)',
      ExpressionAttributeValues: { ':t': answeredAt },
    });
    if (!update.written) throw new RotationNotFoundError(clientId, rotationId);
  }

  /** Queries the `byStartedAt` LSI backwards: newest first. */
  public async listRotations(clientId: string, limit: number): Promise<readonly RotationRecord[]> {
    const items = await this.#table.query(
      {
        IndexName: BY_STARTED_AT_INDEX,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': clientId },
        ScanIndexForward: false,
      },
      `${clientId}@${BY_STARTED_AT_INDEX}`,
      limit,
    );
    return items.map(toRecord);
  }

  /** The rotation records a fleet run tagged (the `byFleetRun` GSI: eventually consistent, by client id). */
  public async listFleetRunRotations(fleetRun: string): Promise<readonly FleetRotationSummary[]> {
    const items = await this.#table.query(
      {
        IndexName: BY_FLEET_RUN_INDEX,
        KeyConditionExpression: 'fleetRun = :run',
        ExpressionAttributeValues: { ':run': fleetRun },
      },
      `${fleetRun}@${BY_FLEET_RUN_INDEX}`,
    );
    return items.map((item) => parseItem(FleetRunItemSchema, item, `${fleetRun}@${BY_FLEET_RUN_INDEX}`));
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
    return this.#updateWhileLive(clientId, rotationId, 'SET #field = if_not_exists(#field, :at)', {
      names: { '#field': field },
      values: { ':at': at },
    });
  }

  /** One UpdateItem conditional on the rotation being live: the new record, or null if it has ended or is absent. */
  async #updateWhileLive(
    clientId: string,
    rotationId: string,
    expression: string,
    { names, values }: { readonly names: Record<string, string>; readonly values: Record<string, unknown> },
  ): Promise<RotationRecord | null> {
    const update = await this.#table.update({
      Key: rotationKey(clientId, rotationId),
      UpdateExpression: expression,
      ConditionExpression: WHILE_LIVE,
      ExpressionAttributeNames: { ...names, '#status': 'status' },
      ExpressionAttributeValues: { ...values, ...LIVE_STATUSES },
      ReturnValues: 'ALL_NEW',
    });
    return update.written ? toRecord(update.output ?? {}) : null;
  }
}

/**
 * The UpdateItem of {@link RotationRecords.updateRotation}: `SET` per patched field and
 * `SET steps.#k` per step timestamp, conditional on the record existing (and on `condition` too,
 * when given); null when the patch changes nothing. Also a write of a transaction.
 */
export function rotationPatchUpdate(
  clientId: string,
  rotationId: string,
  patch: RotationPatch,
  condition?: string,
) {
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
  if (sets.length === 0) return null;
  return {
    Key: rotationKey(clientId, rotationId),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression:
      condition === undefined ? 'attribute_exists(sk)' : `attribute_exists(sk) AND (${condition})`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/**
 * The update that applies `patch` and claims the wait's decision (`answer`) for the waiter, made
 * only while the record's own context decides the wait as `answer` does: it is live, expects no
 * consumer, carries no leak escalation and is not decided yet (`DECIDED_BY_CONTEXT`).
 */
export function claimByContextUpdate(
  clientId: string,
  rotationId: string,
  patch: RotationPatch,
  decidedAt: string,
  answer: DecisionAnswer,
) {
  const write = rotationPatchUpdate(clientId, rotationId, patch, DECIDED_BY_CONTEXT);
  const claim = 'decidedAt = :decidedAt, decision = :decision, decidedBy = :decidedBy';
  return {
    Key: rotationKey(clientId, rotationId),
    UpdateExpression: write === null ? `SET ${claim}` : `${write.UpdateExpression}, ${claim}`,
    ConditionExpression: write?.ConditionExpression ?? `attribute_exists(sk) AND (${DECIDED_BY_CONTEXT})`,
    ExpressionAttributeNames: { ...write?.ExpressionAttributeNames, '#status': 'status' },
    ExpressionAttributeValues: {
      ...write?.ExpressionAttributeValues,
      ...LIVE_STATUSES,
      ':noConsumers': 0,
      ':decidedAt': decidedAt,
      ':decision': answer,
      ':decidedBy': 'waiter' satisfies DecidedBy,
    },
  };
}

function rotationSk(rotationId: string): string {
  return `${ROTATION_SK_PREFIX}${rotationId}`;
}

function rotationKey(clientId: string, rotationId: string): { pk: string; sk: string } {
  return { pk: clientId, sk: rotationSk(rotationId) };
}

/** A record as a table item: its fields, the keys and the LSI sort key; no undefined values. */
export function rotationItem(record: RotationRecord): LedgerItem {
  const startedAt = record.steps.started;
  if (startedAt === undefined) {
    throw new LedgerItemFormatError(`${record.clientId}/${rotationSk(record.rotationId)}`, [
      'steps.started: required',
    ]);
  }
  return {
    ...definedFields(record),
    steps: { ...record.steps },
    reports: { ...record.reports },
    expectedConsumers: [...record.expectedConsumers],
    ...rotationKey(record.clientId, record.rotationId),
    startedAt,
  };
}

/** A stored item as the port's record (exactly its fields). */
export function toRecord(item: LedgerItem): RotationRecord {
  const { pk, sk, startedAt: _startedAt, ...fields } = item;
  const parsed = parseItem(RotationItemSchema, fields, `${String(item.clientId ?? pk)}/${String(sk)}`);
  // zod drops keys it does not know, so the record holds exactly the port's fields.
  return definedFields(parsed) as unknown as RotationRecord;
}
