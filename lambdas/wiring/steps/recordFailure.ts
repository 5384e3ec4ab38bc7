import { recordFailure } from '#core/steps/recordFailure.js';
import type { StepBody, WorkflowState } from '../stepHandler.js';

/** Records a failed rotation; its outcome joins the state. */
export const RecordFailure = (async (deps, state) => ({
  ...state,
  outcome: await recordFailure(deps, state),
})) satisfies StepBody<WorkflowState, WorkflowState>;
