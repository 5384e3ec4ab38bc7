import { lambdaHandler } from '#wiring/stepHandler.js';
import { AwaitConsumers } from '#wiring/steps/awaitConsumers.js';

/** Lambda entry point of the AwaitConsumers step. */
export const handler = lambdaHandler('AwaitConsumers', AwaitConsumers);
