import { lambdaHandler } from '#wiring/stepHandler.js';
import { StartRotation } from '#wiring/steps/startRotation.js';

/** Lambda entry point of the StartRotation step. */
export const handler = lambdaHandler('StartRotation', StartRotation);
