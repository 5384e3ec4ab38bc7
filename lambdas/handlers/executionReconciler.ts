import { executionReconcilerHandler } from '#wiring/executionReconciler.js';

/**
 * Lambda entry point of the execution reconciler (target of the rule on the state machine's
 * `Step Functions Execution Status Change` events for FAILED, ABORTED and TIMED_OUT).
 */
export const handler = executionReconcilerHandler();
