import { RotatorError, toError } from '#core/errors.js';
import { BudgetExhaustedError } from '#core/rateBudget.js';
import { RETRYABLE_ERROR_NAMES } from '#core/retryableErrorNames.js';
import { CompletionPendingError } from '#core/rotationErrors.js';

/** The name a retryable failure is reported under by default (see RETRYABLE_ERROR_NAMES). */
export const TRANSIENT_ERROR_NAME = RETRYABLE_ERROR_NAMES.transient;

/** A retryable failure, as Step Functions sees it. */
export class TransientError extends RotatorError {
  public constructor(original: Error, name: string = TRANSIENT_ERROR_NAME) {
    super(`${original.name}: ${original.message}`, { cause: original, retryable: true });
    this.name = name;
  }
}

/** Whether `error` or anything in its `cause` chain was a throttled call (HTTP 429, AWS throttling). */
function isThrottled(error: unknown): boolean {
  for (let seen = error, depth = 0; seen instanceof Error && depth < 8; seen = seen.cause, depth += 1) {
    if ((seen as { throttled?: unknown }).throttled === true || seen.name === 'StytchRateLimitedError')
      return true;
  }
  return false;
}

/**
 * Maps what a step threw to what the Lambda reports: a completion past the point of no return →
 * CompletionPending; a spent shared budget → BudgetWait; a throttled retryable error → RateLimited; any other retryable → TransientError;
 * else unchanged.
 */
export function toLambdaError(thrown: unknown): Error {
  const error = toError(thrown);
  if (error instanceof CompletionPendingError)
    return new TransientError(error, RETRYABLE_ERROR_NAMES.completionPending);
  if (error instanceof BudgetExhaustedError)
    return new TransientError(error, RETRYABLE_ERROR_NAMES.budgetWait);
  if (error instanceof RotatorError && error.retryable) {
    return new TransientError(
      error,
      isThrottled(error) ? RETRYABLE_ERROR_NAMES.rateLimited : RETRYABLE_ERROR_NAMES.transient,
    );
  }
  return error;
}
