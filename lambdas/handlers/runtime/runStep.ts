// TEMPORARY re-export for the move to lambdas/wiring; removed by the lead
export { lambdaHandler } from '#wiring/stepHandler.js';
export type { StepBody, WorkflowState } from '#wiring/steps.js';
