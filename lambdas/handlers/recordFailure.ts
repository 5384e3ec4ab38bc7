import { lambdaHandler } from '#wiring/stepHandler.js';
import { RecordFailure } from '#wiring/steps/recordFailure.js';

/** Lambda entry point of the RecordFailure step. */
export const handler = lambdaHandler('RecordFailure', RecordFailure);
