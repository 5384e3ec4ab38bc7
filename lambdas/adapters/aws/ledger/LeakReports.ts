import * as z from 'zod';
import type { LeakReportLedgerPort, LeakReportRecord } from '#core/ports.js';
import { LedgerItemFormatError } from '../errors.js';
import {
  definedFields,
  LEAK_EVENT_SK_PREFIX,
  LEAK_REPORT_RETENTION_DAYS,
  LEAK_SK_PREFIX,
  type LedgerItem,
  LedgerTable,
  type LedgerTableProps,
  parseItem,
} from './ledgerTable.js';

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

/**
 * {@link LeakReportLedgerPort} over the ledger table: a report is `pk=<clientId>,
 * sk=LEAK#<receivedAt>#<eventId>` (so a client's reports sort by time), with its idempotency guard
 * `sk=LEAKEVENT#<eventId>`; both carry `ttl` (see {@link LeakReports.recordLeakReport}).
 */
export class LeakReports implements LeakReportLedgerPort {
  readonly #table: LedgerTable;

  public constructor(props: LedgerTableProps) {
    this.#table = new LedgerTable(props);
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
    const guard = await this.#table.put({
      Item: { pk: report.clientId, sk: guardSk, reportSk, receivedAt, ttl },
      ConditionExpression: 'attribute_not_exists(sk)',
    });
    if (!guard.written) {
      const stored = await this.#table.get(report.clientId, guardSk);
      ({ reportSk, receivedAt } = parseItem(LeakEventGuardSchema, stored, `${report.clientId}/${guardSk}`));
    }
    const put = await this.#table.put({
      Item: {
        ...definedFields(report),
        outcome: { ...report.outcome },
        receivedAt,
        pk: report.clientId,
        sk: reportSk,
        ttl,
      },
      ConditionExpression: 'attribute_not_exists(sk)',
    });
    return put.written;
  }

  /** Queries `LEAK#*` of the client backwards: newest first (the guards sort apart, as `LEAKEVENT#`). */
  public async listLeakReports(clientId: string, limit: number): Promise<readonly LeakReportRecord[]> {
    const items = await this.#table.query(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :leak)',
        ExpressionAttributeValues: { ':pk': clientId, ':leak': LEAK_SK_PREFIX },
        ScanIndexForward: false,
      },
      `${clientId}/${LEAK_SK_PREFIX}*`,
      limit,
    );
    return items.map(toLeakReport);
  }
}

function leakSk(receivedAt: string, eventId: string): string {
  return `${LEAK_SK_PREFIX}${receivedAt}#${eventId}`;
}

function toLeakReport(item: LedgerItem): LeakReportRecord {
  const parsed = parseItem(LeakReportItemSchema, item, `${String(item.pk)}/${String(item.sk)}`);
  // zod drops keys it does not know (pk, sk, ttl), so the record holds exactly the port's fields.
  return definedFields(parsed) as unknown as LeakReportRecord;
}
