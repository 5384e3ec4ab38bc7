import { lambdaHandler } from './runtime/runStep.js';
import { STEP_BODIES } from './steps.js';

/** Lambda entry point of the HealthAggregator step. */
export const handler = lambdaHandler('HealthAggregator', STEP_BODIES.HealthAggregator);
