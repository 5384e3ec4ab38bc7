import { lambdaHandler } from './runtime/runStep.js';
import { STEP_BODIES } from './steps.js';

/** Lambda entry point of the StartRotation step. */
export const handler = lambdaHandler('StartRotation', STEP_BODIES.StartRotation);
