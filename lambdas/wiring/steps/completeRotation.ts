import { completeRotation } from '#core/steps/completeRotation.js';
import type { StepBody, WorkflowState } from '../stepHandler.js';

/** Completes the rotation; its outcome joins the state. */
export const CompleteRotation = (async (deps, state) => ({
  ...state,
  outcome: await completeRotation(deps, state),
})) satisfies StepBody<WorkflowState, WorkflowState>;
