import { StytchConfigError, StytchResponseValidationError } from './errors.js';

/** One page as the search operations return it. */
export interface Page<Item> {
  readonly items: readonly Item[];
  readonly nextCursor: string | null;
}

/**
 * Yields every item of every page, following `nextCursor` until it is null. A cursor that comes
 * back a second time would loop forever (a server bug), so it ends the walk with an error.
 * @throws {StytchResponseValidationError} on a repeated cursor
 */
export async function* paginate<Item>(
  route: string,
  firstCursor: string | undefined,
  fetchPage: (cursor: string | undefined) => Promise<Page<Item>>,
): AsyncGenerator<Item, void, undefined> {
  const seen = new Set<string>();
  let cursor = firstCursor;
  if (cursor !== undefined) seen.add(cursor);
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.items;
    if (page.nextCursor === null) return;
    if (seen.has(page.nextCursor)) {
      throw new StytchResponseValidationError(route, 200, ['results_metadata.next_cursor: repeated_cursor']);
    }
    seen.add(page.nextCursor);
    cursor = page.nextCursor;
  }
}

/**
 * A client id, URL-encoded for a path segment. Empty ids are refused: `/v1/m2m/clients/` would
 * address a different route.
 * @throws {StytchConfigError}
 */
export function encodeClientId(clientId: string): string {
  assertClientId(clientId);
  return encodeURIComponent(clientId);
}

/**
 * Refuses an empty or non-string client id before anything is sent.
 * @throws {StytchConfigError}
 */
export function assertClientId(clientId: string): void {
  if (typeof clientId !== 'string' || clientId === '') {
    throw new StytchConfigError(['clientId must be a non-empty string']);
  }
}
