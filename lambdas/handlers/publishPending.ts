import { lambdaHandler } from './runtime/runStep.js';
import { STEP_BODIES } from './steps.js';

/** Lambda entry point of the PublishPending step. */
export const handler = lambdaHandler('PublishPending', STEP_BODIES.PublishPending);
