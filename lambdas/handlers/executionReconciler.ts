import { lambdaHandler } from './runtime/runStep.js';
import { STEP_BODIES } from './steps.js';

/**
 * Lambda entry point of the execution reconciler (target of the rule on the state machine's
 * `Step Functions Execution Status Change` events for FAILED, ABORTED and TIMED_OUT): makes the
 * client whole with the one reconciliation rule and releases a lock its dead execution left.
 */
export const handler = lambdaHandler('ExecutionReconciler', STEP_BODIES.ExecutionReconciler);
