import { lambdaHandler } from '#wiring/stepHandler.js';
import { LeakIntake } from '#wiring/steps/leakIntake.js';

/** Lambda entry point of the leak intake (target of the `Secret Leak Detected` rule). */
export const handler = lambdaHandler('LeakIntake', LeakIntake);
