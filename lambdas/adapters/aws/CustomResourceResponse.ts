import * as z from 'zod';

/**
 * A CloudFormation custom resource request, as CloudFormation invokes a Lambda `ServiceToken`
 * with it (the fields this code reads).
 */
export const CustomResourceRequestSchema = z.looseObject({
  RequestType: z.enum(['Create', 'Update', 'Delete']),
  ResponseURL: z.url(),
  StackId: z.string().min(1),
  RequestId: z.string().min(1),
  LogicalResourceId: z.string().min(1),
  PhysicalResourceId: z.string().min(1).optional(),
});
export type CustomResourceRequest = z.infer<typeof CustomResourceRequestSchema>;

/** What the resource answers CloudFormation. */
export interface CustomResourceOutcome {
  readonly status: 'SUCCESS' | 'FAILED';
  readonly physicalResourceId: string;
  /** Shown in the stack's events on a failure: an error's name and message, never a secret. */
  readonly reason?: string;
}

/** `event` is a CloudFormation custom resource request (it has a `RequestType` and a `ResponseURL`). */
export function isCustomResourceRequest(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'RequestType' in event && 'ResponseURL' in event;
}

/**
 * Answers CloudFormation: a PUT of the outcome to the request's presigned `ResponseURL`
 * (Content-Type empty, as the presigned URL was signed without one). Until it arrives the stack
 * operation waits, up to an hour.
 * @throws {Error} when S3 does not accept the answer (the Lambda then fails and CloudFormation times out)
 */
export async function sendCustomResourceResponse(
  request: CustomResourceRequest,
  outcome: CustomResourceOutcome,
  fetchImpl: typeof fetch = fetch,
): Promise<void> {
  const body = JSON.stringify({
    Status: outcome.status,
    Reason: (outcome.reason ?? 'See the function log').slice(0, 1000),
    PhysicalResourceId: outcome.physicalResourceId,
    StackId: request.StackId,
    RequestId: request.RequestId,
    LogicalResourceId: request.LogicalResourceId,
    NoEcho: false,
  });
  const response = await fetchImpl(request.ResponseURL, {
    method: 'PUT',
    headers: { 'content-type': '' },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`CloudFormation's response URL answered ${response.status}`);
}
