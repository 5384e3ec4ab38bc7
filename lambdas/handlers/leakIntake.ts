import { lambdaHandler } from './runtime/runStep.js';
import { STEP_BODIES } from './steps.js';

/** Lambda entry point of the leak intake (target of the `Secret Leak Detected` rule). */
export const handler = lambdaHandler('LeakIntake', STEP_BODIES.LeakIntake);
