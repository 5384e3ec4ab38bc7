import { stepHandler } from '#wiring/stepHandler.js';

/** Lambda entry point of the CompleteRotation step. */
export const handler = stepHandler('CompleteRotation');
