import { stepHandler } from '#wiring/stepHandler.js';

/** Lambda entry point of the PublishPending step. */
export const handler = stepHandler('PublishPending');
