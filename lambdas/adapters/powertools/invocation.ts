import type { Context } from 'aws-lambda';
import { powertoolsLogger } from './logger.js';
import { captureColdStartMetric } from './metrics.js';
import { inSubsegment } from './tracer.js';

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
 * Wraps a handler with what Powertools' `injectLambdaContext`, `logMetrics({ captureColdStartMetric })`
 * and `captureLambdaHandler` do around an invocation, by hand (the handlers are plain functions,
 * without Middy): given a real Lambda context, every log line of the invocation carries it and
 * the container's first invocation emits the `ColdStart` metric; the invocation runs in its own
 * X-Ray subsegment `## <name>` when tracing is on. The event is never logged (it may carry a
 * task token). Called without a Lambda context (the sandbox, the tests), nothing is added to the
 * logs or the metrics, and tracing, which Powertools enables only inside Lambda, is a no-op.
 */
export function withInvocationContext<E, R>(
  name: string,
  handler: (event: E) => Promise<R>,
): (event: E, context?: unknown) => Promise<R> {
  return async (event, context) => {
    if (isLambdaContext(context)) {
      powertoolsLogger.refreshSampleRateCalculation();
      powertoolsLogger.addContext(context);
      captureColdStartMetric(context.functionName);
    }
    return inSubsegment(name, () => handler(event));
  };
}
