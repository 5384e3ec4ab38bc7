import { lambdaHandler } from './runtime/runStep.js';
import { STEP_BODIES } from './steps.js';

/** Lambda entry point of the CompleteRotation step. */
export const handler = lambdaHandler('CompleteRotation', STEP_BODIES.CompleteRotation);
