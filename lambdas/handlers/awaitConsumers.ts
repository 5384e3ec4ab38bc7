import { stepHandler } from '#wiring/stepHandler.js';

/** Lambda entry point of the AwaitConsumers step. */
export const handler = stepHandler('AwaitConsumers');
