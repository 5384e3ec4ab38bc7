import { stepHandler } from '#wiring/stepHandler.js';

/** Lambda entry point of the StartRotation step. */
export const handler = stepHandler('StartRotation');
