import type { Context } from 'aws-lambda';
import { powertoolsLogger } from './logger.js';
import { captureColdStartMetric } from './metrics.js';

/**
 * Whether `context` is what the Lambda runtime passes a handler, not the sandbox's
 * LocalHandlerContext (a function name and a state, no request id) or nothing (the tests).
 */
export function isLambdaContext(context: unknown): context is Context {
  if (typeof context !== 'object' || context === null) return false;
  const { functionName, awsRequestId, invokedFunctionArn } = context as Partial<Context>;
  return (
    typeof functionName === 'string' &&
    typeof awsRequestId === 'string' &&
    typeof invokedFunctionArn === 'string'
  );
}

/**
 * Wraps a handler with what Powertools' `injectLambdaContext` and
 * `logMetrics({ captureColdStartMetric })` do around an invocation, by hand (the handlers are
 * plain functions, without Middy): given a real Lambda context, every log line of the invocation
 * carries it and the container's first invocation emits the `ColdStart` metric. The event is
 * never logged (it may carry a task token). Called without a Lambda context (the sandbox, the
 * tests), nothing is added to the logs or the metrics. No X-Ray subsegment: the Powertools tracer
 * was dropped (docs/design.md); Lambda's active tracing still records each invocation's segment.
 */
export function withInvocationContext<E, R>(
  handler: (event: E) => Promise<R>,
): (event: E, context?: unknown) => Promise<R> {
  return async (event, context) => {
    if (isLambdaContext(context)) {
      powertoolsLogger.refreshSampleRateCalculation();
      powertoolsLogger.addContext(context);
      captureColdStartMetric(context.functionName);
    }
    return handler(event);
  };
}
