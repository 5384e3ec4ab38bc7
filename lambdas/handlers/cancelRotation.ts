import { stepHandler } from '#wiring/stepHandler.js';

/** Lambda entry point of the CancelRotation step. */
export const handler = stepHandler('CancelRotation');
