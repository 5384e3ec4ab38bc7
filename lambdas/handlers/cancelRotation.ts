import { lambdaHandler } from './runtime/runStep.js';
import { STEP_BODIES } from './steps.js';

/** Lambda entry point of the CancelRotation step. */
export const handler = lambdaHandler('CancelRotation', STEP_BODIES.CancelRotation);
