import { Logger } from '@aws-lambda-powertools/logger';
import type { StepLogger } from '#core/deps.js';
import { SERVICE_NAME } from './service.js';

/**
 * The container's one Powertools Logger. {@link withInvocationContext} adds the Lambda context
 * (function name and ARN, request id, cold start, memory) to it at the start of every invocation
 * that has one, so every line of that invocation carries it; a handler called without one (the
 * sandbox, the tests) logs the same lines without those fields.
 */
export const powertoolsLogger = new Logger({ serviceName: SERVICE_NAME });

/**
 * Every function's logger: {@link powertoolsLogger} as the narrow {@link StepLogger} the core
 * takes. Powertools takes the attributes as a second argument of its own type; they are adapted
 * here, once.
 */
export const lambdaLogger: StepLogger = {
  info: (message, attributes = {}) => powertoolsLogger.info(message, attributes),
  warn: (message, attributes = {}) => powertoolsLogger.warn(message, attributes),
};
