import type { TemplateLambdaFunction } from './template.js';

/** CDK appends 8 upper-case hex characters of a path hash to every logical id. */
const CDK_HASH = /[0-9A-F]{8}$/;

/**
 * Whether a `handlers` key names `fn`; the rule is documented on `LocalExecutorOptions.handlers`:
 * with path metadata, the key is the construct id or a `/`-separated tail of the construct path;
 * without it, the logical id minus CDK's hash ends with the key's letters and digits.
 */
export function keyMatchesFunction(key: string, fn: TemplateLambdaFunction): boolean {
  if (fn.constructPath !== undefined) {
    const trimmed = key.replace(/^\/+|\/+$/g, '');
    return trimmed.length > 0 && (fn.constructPath === trimmed || fn.constructPath.endsWith(`/${trimmed}`));
  }
  const stem = fn.logicalId.replace(CDK_HASH, '');
  const wanted = key.replace(/[^A-Za-z0-9]/g, '');
  return wanted.length > 0 && (fn.logicalId === key || stem.endsWith(wanted));
}

/** How a function is referred to in messages: its construct path, else its logical id. */
export function describeFunction(fn: TemplateLambdaFunction): string {
  return fn.constructPath === undefined ? `logical id ${fn.logicalId}` : `construct ${fn.constructPath}`;
}

/** The key a handler for `fn` is expected under: its construct id, else its logical id minus the hash. */
export function expectedKey(fn: TemplateLambdaFunction): string {
  if (fn.constructPath !== undefined) return fn.constructPath.split('/').at(-1) ?? fn.constructPath;
  return fn.logicalId.replace(CDK_HASH, '');
}

/**
 * Finds each function's handler. A function matched by no key, or by several keys, is an issue; so is
 * a key matching several of the given functions (pass only the functions that tasks invoke).
 */
export function matchHandlers<H>(
  functions: readonly TemplateLambdaFunction[],
  handlers: Readonly<Record<string, H>>,
): { readonly byLogicalId: ReadonlyMap<string, H>; readonly issues: readonly string[] } {
  const byLogicalId = new Map<string, H>();
  const issues: string[] = [];
  for (const [key, handler] of Object.entries(handlers)) {
    const matched = functions.filter((fn) => keyMatchesFunction(key, fn));
    if (matched.length > 1) {
      issues.push(
        `Handler key ${key} is ambiguous: it matches ${matched.map(describeFunction).join(', ')}; use a longer construct path tail.`,
      );
      continue;
    }
    const [fn] = matched;
    if (fn === undefined) continue;
    if (byLogicalId.has(fn.logicalId)) {
      issues.push(`Several handler keys match the function with ${describeFunction(fn)}.`);
      continue;
    }
    byLogicalId.set(fn.logicalId, handler);
  }
  return { byLogicalId, issues };
}
