import { reconcileEndedExecution } from '#core/staleRotation.js';
import type { StepBody } from '../stepHandler.js';

/** The execution reconciler: an EventBridge target receiving the state machine's status changes. */
export const ExecutionReconciler = (async (deps, event: { detail?: unknown }) =>
  reconcileEndedExecution(deps, event)) satisfies StepBody<{ detail?: unknown }, unknown>;
