// TEMPORARY re-export for the move to lambdas/wiring; removed by the lead
export { STEP_BODIES, type StepBody, type StepName, type WorkflowState } from '#wiring/steps.js';
