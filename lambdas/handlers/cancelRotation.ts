import { lambdaHandler } from '#wiring/stepHandler.js';
import { CancelRotation } from '#wiring/steps/cancelRotation.js';

/** Lambda entry point of the CancelRotation step. */
export const handler = lambdaHandler('CancelRotation', CancelRotation);
