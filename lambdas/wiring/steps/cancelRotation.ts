import { cancelRotation } from '#core/steps/cancelRotation.js';
import type { StepBody, WorkflowState } from '../stepHandler.js';

/** Cancels the rotation; its outcome joins the state. */
export const CancelRotation = (async (deps, state) => ({
  ...state,
  outcome: await cancelRotation(deps, state),
})) satisfies StepBody<WorkflowState, WorkflowState>;
