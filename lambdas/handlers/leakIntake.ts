import { stepHandler } from '#wiring/stepHandler.js';

/** Lambda entry point of the leak intake (target of the `Secret Leak Detected` rule). */
export const handler = stepHandler('LeakIntake');
