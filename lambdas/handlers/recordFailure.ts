import { stepHandler } from '#wiring/stepHandler.js';

/** Lambda entry point of the RecordFailure step. */
export const handler = stepHandler('RecordFailure');
