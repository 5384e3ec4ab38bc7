import { RotatorError, toError } from '#core/errors.js';

/**
 * The error name the state machine retries: any error whose `retryable` is true is reported to
 * Step Functions under this one name (with the original name in the message), so the Retry rule
 * does not need to know every adapter's error classes, and a permanent error with the same class
 * name (a Stytch 404 vs a Stytch 503) is never retried by mistake.
 */
export const TRANSIENT_ERROR_NAME = 'TransientError';

/** A retryable failure, as Step Functions sees it. */
export class TransientError extends RotatorError {
  public constructor(original: Error) {
    super(`${original.name}: ${original.message}`, { cause: original, retryable: true });
    this.name = TRANSIENT_ERROR_NAME;
  }
}

/** Maps what a step threw to what the Lambda reports: retryable → TransientError; else unchanged. */
export function toLambdaError(thrown: unknown): Error {
  const error = toError(thrown);
  if (error instanceof RotatorError && error.retryable) return new TransientError(error);
  return error;
}
