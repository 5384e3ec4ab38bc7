/**
 * The error names under which a Lambda reports a retryable failure to Step Functions: the contract
 * between the handlers (lambdas/handlers/runtime/lambdaError.ts maps errors to them) and the state
 * machine (lib/RotationStateMachine.ts retries them). Each has its own retry budget:
 * - `TransientError`: a few minutes (AWS or Stytch 5xx, timeouts, resets);
 * - `RateLimited`: a throttled call; Stytch's limits reset at fixed boundaries up to an hour away
 *   and it sends no `Retry-After`, so it is retried for more than an hour;
 * - `BudgetWait`: the deployment's shared rate budget (core/rateBudget.ts) is spent for the current
 *   window; retried every few seconds, for longer than the longest window;
 * - `CompletionPending`: AWSCURRENT already moved and Stytch has not completed yet; forward only,
 *   retried for hours, never cancelled.
 */
export const RETRYABLE_ERROR_NAMES = {
  transient: 'TransientError',
  rateLimited: 'RateLimited',
  budgetWait: 'BudgetWait',
  completionPending: 'CompletionPending',
} as const;
