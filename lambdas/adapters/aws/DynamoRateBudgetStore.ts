import type { BudgetCounts, BudgetName, RateBudgetLimits, RateBudgetStorePort } from '#core/rateBudget.js';
import { LedgerTable, type LedgerTableProps } from './ledger/ledgerTable.js';

/** Partition key of the budgets' window items (no client id holds `#`). */
export const BUDGET_PK = 'BUDGET#';

// A window's item outlives it by a day (TTL deletes it); nothing reads a past window.
const COUNTER_TTL_SECONDS = 24 * 3600;

/**
 * {@link RateBudgetStorePort} over the ledger table: one item per window, `pk=BUDGET#, sk=<window
 * start, epoch ms>`, with one counter per budget (`stytch-management`, `stytch-token`,
 * `secretsmanager-writes`), raised together by one conditional UpdateItem (`ADD`, refused when
 * any counter would pass its limit). DynamoDB serializes the writes, so callers in any number of
 * Lambdas and CLIs never admit more than the limits between them.
 */
export class DynamoRateBudgetStore implements RateBudgetStorePort {
  readonly #table: LedgerTable;

  public constructor(props: LedgerTableProps) {
    this.#table = new LedgerTable(props);
  }

  public async take(windowStartMs: number, counts: BudgetCounts, limits: RateBudgetLimits): Promise<boolean> {
    const entries = (Object.entries(counts) as [BudgetName, number][]).filter(([, count]) => count > 0);
    if (entries.length === 0) return true;
    // More than a whole window never fits (and a fresh window's item would not refuse it).
    if (entries.some(([budget, count]) => count > limits.requests[budget])) return false;
    const names: Record<string, string> = { '#ttl': 'ttl' };
    const values: Record<string, number> = {
      ':ttl': Math.floor((windowStartMs + limits.windowMs) / 1000) + COUNTER_TTL_SECONDS,
    };
    const adds: string[] = [];
    const conditions: string[] = [];
    entries.forEach(([budget, count], i) => {
      names[`#b${i}`] = budget;
      values[`:c${i}`] = count;
      values[`:r${i}`] = limits.requests[budget] - count;
      adds.push(`#b${i} :c${i}`);
      conditions.push(`(attribute_not_exists(#b${i}) OR #b${i} <= :r${i})`);
    });
    const outcome = await this.#table.update({
      Key: { pk: BUDGET_PK, sk: String(windowStartMs) },
      UpdateExpression: `ADD ${adds.join(', ')} SET #ttl = if_not_exists(#ttl, :ttl)`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    return outcome.written;
  }
}
