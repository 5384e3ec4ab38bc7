import { lambdaHandler, type StepDepsFactory } from './stepHandler.js';
import { ExecutionReconciler } from './steps/executionReconciler.js';

/**
 * The execution reconciler (target of the rule on the state machine's `Step Functions Execution
 * Status Change` events for FAILED, ABORTED and TIMED_OUT): makes the client whole with the one
 * reconciliation rule and releases a lock its dead execution left. It runs over the same StepDeps
 * as the steps; only its environment adds the state machine's ARN.
 */
export function executionReconcilerHandler(deps?: StepDepsFactory) {
  return lambdaHandler('ExecutionReconciler', ExecutionReconciler, deps);
}
