// The Powertools adapters' public surface: the service name, the container's logger, metrics
// (rotation, SecretAgeDays, ColdStart), and the wrapper that applies them around an invocation.
export { isLambdaContext, withInvocationContext } from './invocation.js';
export { lambdaLogger, powertoolsLogger } from './logger.js';
export { captureColdStartMetric, powertoolsMetrics } from './metrics.js';
export { powertoolsSecretAgeMetrics, SECRET_AGE_METRIC } from './secretAgeMetrics.js';
export { SERVICE_NAME } from './service.js';
