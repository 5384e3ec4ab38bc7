import { stepHandler } from '#wiring/stepHandler.js';

/** Lambda entry point of the health aggregator (target of the `Consumer Health Reported` rule). */
export const handler = stepHandler('HealthAggregator');
