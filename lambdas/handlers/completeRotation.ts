import { lambdaHandler } from '#wiring/stepHandler.js';
import { CompleteRotation } from '#wiring/steps/completeRotation.js';

/** Lambda entry point of the CompleteRotation step. */
export const handler = lambdaHandler('CompleteRotation', CompleteRotation);
