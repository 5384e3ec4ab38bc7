import { lambdaHandler } from '#wiring/stepHandler.js';
import { HealthAggregator } from '#wiring/steps/healthAggregator.js';

/** Lambda entry point of the health aggregator (target of the `Consumer Health Reported` rule). */
export const handler = lambdaHandler('HealthAggregator', HealthAggregator);
