import { startRotation } from '#core/steps/startRotation.js';
import type { StepBody, WorkflowState } from '../stepHandler.js';

/**
 * Every workflow Lambda receives the whole state (`$`) and returns it with its part added, so the
 * state machine needs no ResultPath juggling and a missing part (no `rotation` after a failed
 * start) is never a JSONPath error.
 */
export const StartRotation = (async (deps, state) => ({
  ...state,
  rotation: await startRotation(deps, state),
})) satisfies StepBody<WorkflowState, WorkflowState>;
