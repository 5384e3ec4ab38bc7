import { lambdaHandler } from './runtime/runStep.js';
import { STEP_BODIES } from './steps.js';

/** Lambda entry point of the AwaitConsumers step. */
export const handler = lambdaHandler('AwaitConsumers', STEP_BODIES.AwaitConsumers);
