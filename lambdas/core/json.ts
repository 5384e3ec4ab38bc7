/**
 * JSON text that AWS hands back as an opaque string (an execution's input or output, a task
 * failure's cause), where missing or malformed text is an expected answer, not an error: the
 * caller checks the shape of what it gets (a schema, an optional field) and falls back.
 */

/** The parsed `text`; undefined when there is no text or it is not JSON. */
export function parseJsonOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
