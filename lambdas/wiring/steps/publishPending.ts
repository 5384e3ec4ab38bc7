import { publishPending } from '#core/steps/publishPending.js';
import type { StepBody, WorkflowState } from '../stepHandler.js';

/** Publishes the pending secret; the state goes on unchanged. */
export const PublishPending = (async (deps, state) => {
  await publishPending(deps, state);
  return state;
}) satisfies StepBody<WorkflowState, WorkflowState>;
