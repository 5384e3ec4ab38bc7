/**
 * The `code` of a system or undici error, looking inside an AggregateError (happy eyeballs) and
 * down the `cause` chain: fetch rejects with a TypeError whose cause holds the code.
 */
export function systemErrorCode(error: unknown, depth = 0): string | null {
  if (typeof error !== 'object' || error === null || depth > 4) return null;
  if ('code' in error && typeof error.code === 'string') return error.code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const code = systemErrorCode(inner, depth + 1);
      if (code !== null) return code;
    }
  }
  return 'cause' in error ? systemErrorCode(error.cause, depth + 1) : null;
}
