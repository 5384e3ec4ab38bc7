import { Tracer } from '@aws-lambda-powertools/tracer';
import { toError } from '#core/errors.js';
import { SERVICE_NAME } from './service.js';

let tracer: Tracer | undefined;

/**
 * The container's one Powertools Tracer, built on first use (importing a handler has no side
 * effects). Powertools enables it only inside Lambda (`AWS_EXECUTION_ENV` set, not SAM or
 * Amplify, `POWERTOOLS_TRACE_ENABLED` not `false`); enabled, it also traces every outgoing
 * http(s) and fetch request (Stytch, GitHub), recording the URL without its query. Everywhere
 * else (the sandbox, the tests) every method is a no-op.
 */
export function containerTracer(): Tracer {
  tracer ??= new Tracer({ serviceName: SERVICE_NAME });
  return tracer;
}

/**
 * An AWS SDK v3 client whose calls become X-Ray subsegments (service, operation, retries,
 * errors) when tracing is on; the client itself otherwise. A DynamoDB document client shares its
 * base client's middleware, so capture the base client before `DynamoDBDocumentClient.from`.
 */
export function traced<C>(client: C): C {
  return containerTracer().captureAWSv3Client(client);
}

/**
 * Runs one invocation in a subsegment `## <name>` of the function's segment, annotated with
 * `ColdStart` and `Service` and closed however the invocation ends, as Powertools'
 * `captureLambdaHandler` does. What the invocation threw is recorded on the subsegment (our
 * error messages hold no secret); what it returned is not: the workflow state is ours to log,
 * scrubbed, not X-Ray's. Without tracing, or without a segment, it just runs.
 */
export async function inSubsegment<R>(name: string, run: () => Promise<R>): Promise<R> {
  const tracing = containerTracer();
  if (!tracing.isTracingEnabled()) return run();
  const segment = tracing.getSegment();
  if (segment === undefined) return run();
  const subsegment = segment.addNewSubsegment(`## ${name}`);
  tracing.setSegment(subsegment);
  tracing.annotateColdStart();
  tracing.addServiceNameAnnotation();
  try {
    return await run();
  } catch (error) {
    tracing.addErrorAsMetadata(toError(error));
    throw error;
  } finally {
    subsegment.close();
    tracing.setSegment(segment);
  }
}
