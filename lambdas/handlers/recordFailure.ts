import { lambdaHandler } from './runtime/runStep.js';
import { STEP_BODIES } from './steps.js';

/** Lambda entry point of the RecordFailure step. */
export const handler = lambdaHandler('RecordFailure', STEP_BODIES.RecordFailure);
