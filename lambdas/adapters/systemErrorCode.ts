/** The `code` of a system or undici error, looking inside an AggregateError (happy eyeballs). */
export function systemErrorCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  if ('code' in error && typeof error.code === 'string') return error.code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const code = systemErrorCode(inner);
      if (code !== null) return code;
    }
  }
  return null;
}
