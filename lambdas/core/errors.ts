/**
 * The one base error of the project. Every error we throw extends it, so callers can narrow with
 * `instanceof RotatorError` and the state machine's Retry/Catch can rely on `retryable` and `name`.
 *
 * Messages never carry secret values: they name clients, versions and last-four characters only.
 */
export class RotatorError extends Error {
  /** Whether trying the same call again may succeed (throttling, 5xx, timeouts, resets). */
  declare public readonly retryable: boolean;

  public constructor(message: string, options: ErrorOptions & { readonly retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RotatorError';
    // Non-enumerable like `message` and `cause`, so spreading or JSON-serialising an error shows
    // only what a subclass chose to expose.
    Object.defineProperty(this, 'retryable', { value: options.retryable ?? false, enumerable: false });
  }
}

/** Narrows an unknown `catch` value to an `Error`, wrapping anything else. */
export function assertIsError(value: unknown): asserts value is Error {
  if (!(value instanceof Error)) {
    throw new RotatorError('A non-Error value was thrown', { cause: value });
  }
}

/** Returns `value` as an `Error`, wrapping anything that is not one. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new RotatorError('A non-Error value was thrown', { cause: value });
}
