// The Powertools adapters' public surface: the service name, the container's logger, metrics
// (rotation, the secret-age counts, ColdStart), and the wrapper that applies them around an invocation.
export { isLambdaContext, withInvocationContext } from './invocation.js';
export { lambdaLogger, powertoolsLogger } from './logger.js';
export { captureColdStartMetric, powertoolsMetrics } from './metrics.js';
export { powertoolsSecretAgeMetrics } from './secretAgeMetrics.js';
export { SERVICE_NAME } from './service.js';
