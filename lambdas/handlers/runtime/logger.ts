import { Logger } from '@aws-lambda-powertools/logger';
import type { StepLogger } from '#core/deps.js';

const powertools = new Logger({ serviceName: 'stytch-m2m-rotator' });

/**
 * Every function's logger: Powertools (JSON, with the Lambda context), as the narrow
 * {@link StepLogger} the core takes. Powertools takes the attributes as a second argument of its
 * own type; they are adapted here, once.
 */
export const lambdaLogger: StepLogger = {
  info: (message, attributes = {}) => powertools.info(message, attributes),
  warn: (message, attributes = {}) => powertools.warn(message, attributes),
};
