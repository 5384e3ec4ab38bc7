import { lambdaHandler } from '#wiring/stepHandler.js';
import { PublishPending } from '#wiring/steps/publishPending.js';

/** Lambda entry point of the PublishPending step. */
export const handler = lambdaHandler('PublishPending', PublishPending);
