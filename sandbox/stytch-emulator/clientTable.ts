import { apiErrors } from './errors.js';

/** One page of a search, in creation order. */
export interface Page<T> {
  readonly items: readonly T[];
  /** How many records match the filter in total (all pages). */
  readonly total: number;
  /** Pass back to get the next page; null on the last page (Stytch emits `null`). */
  readonly nextCursor: string | null;
}

/** Search page size when the request has none (Stytch's documented default). */
export const DEFAULT_PAGE_SIZE = 100;
/** Largest page Stytch returns. */
export const MAX_PAGE_SIZE = 1000;

/**
 * An insertion-ordered table of clients keyed by client_id, with cursor pagination. The cursor
 * names the creation sequence number of the last row returned, so pages stay stable when rows are
 * deleted or added between calls; it is opaque (base64url) to callers, as Stytch's is.
 */
export class ClientTable<T extends { readonly clientId: string }> {
  readonly #rows = new Map<string, { readonly record: T; readonly seq: number }>();
  #seq = 0;

  public get(clientId: string): T | undefined {
    return this.#rows.get(clientId)?.record;
  }

  public has(clientId: string): boolean {
    return this.#rows.has(clientId);
  }

  public insert(record: T): void {
    this.#seq += 1;
    this.#rows.set(record.clientId, { record, seq: this.#seq });
  }

  public delete(clientId: string): boolean {
    return this.#rows.delete(clientId);
  }

  public get size(): number {
    return this.#rows.size;
  }

  /** The records matching `filter`, after `cursor`, at most `limit` of them. */
  public page(filter: (record: T) => boolean, cursor: string | undefined, limit: number): Page<T> {
    const after = cursor === undefined || cursor === '' ? 0 : decodeCursor(cursor);
    const matching = [...this.#rows.values()].filter((row) => filter(row.record));
    const remaining = matching.filter((row) => row.seq > after);
    const pageRows = remaining.slice(0, limit);
    const last = pageRows.at(-1);
    const more = remaining.length > pageRows.length && last !== undefined;
    return {
      items: pageRows.map((row) => row.record),
      total: matching.length,
      nextCursor: more ? encodeCursor(last.seq) : null,
    };
  }
}

function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ after: seq }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && 'after' in value) {
      const after = value.after;
      if (typeof after === 'number' && Number.isSafeInteger(after) && after >= 0) return after;
    }
  } catch {
    // Fall through to the one error below.
  }
  throw apiErrors.invalidValue('The cursor is not valid.');
}
