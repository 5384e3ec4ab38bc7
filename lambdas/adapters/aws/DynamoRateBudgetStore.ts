import type { BudgetName, FixedWindowLimit, RateBudgetStorePort } from '#core/rateBudget.js';
import { LedgerTable, type LedgerTableProps } from './ledger/ledgerTable.js';

/** Partition-key prefix of a budget's window counters: `BUDGET#<name>` (no client id holds `#`). */
export const BUDGET_PK_PREFIX = 'BUDGET#';

// A window's counter outlives it by a day (TTL deletes it); nothing reads a past window.
const COUNTER_TTL_SECONDS = 24 * 3600;

/**
 * {@link RateBudgetStorePort} over the ledger table: one item per budget and window,
 * `pk=BUDGET#<name>, sk=<window start, epoch ms>`, `used` raised by one conditional UpdateItem
 * (`ADD`, refused when it would pass the limit). DynamoDB serializes the increments, so callers
 * in any number of Lambdas and CLIs never admit more than the limit between them.
 */
export class DynamoRateBudgetStore implements RateBudgetStorePort {
  readonly #table: LedgerTable;

  public constructor(props: LedgerTableProps) {
    this.#table = new LedgerTable(props);
  }

  public async take(
    name: BudgetName,
    windowStartMs: number,
    count: number,
    limit: FixedWindowLimit,
  ): Promise<boolean> {
    const outcome = await this.#table.update({
      Key: { pk: `${BUDGET_PK_PREFIX}${name}`, sk: String(windowStartMs) },
      UpdateExpression: 'ADD used :count SET #ttl = if_not_exists(#ttl, :ttl)',
      ConditionExpression: 'attribute_not_exists(used) OR used <= :room',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ':count': count,
        ':room': limit.requests - count,
        ':ttl': Math.floor((windowStartMs + limit.windowMs) / 1000) + COUNTER_TTL_SECONDS,
      },
    });
    return outcome.written;
  }
}
