import {
  CustomResourceRequestSchema,
  isCustomResourceRequest,
  sendCustomResourceResponse,
} from '#adapters/aws/CustomResourceResponse.js';
import { eventBridgeClient } from '#adapters/aws/clients/eventBridge.js';
import { s3Client } from '#adapters/aws/clients/s3.js';
import type { FunctionClients } from '#adapters/aws/clients.js';
import { EventBridgePublisher } from '#adapters/aws/EventBridgePublisher.js';
import { S3RevocationDocument } from '#adapters/aws/S3RevocationDocument.js';
import { withInvocationContext } from '#adapters/powertools/invocation.js';
import { lambdaLogger } from '#adapters/powertools/logger.js';
import type { StepLogger } from '#core/deps.js';
import type { Clock } from '#core/ports.js';
import { revocationOfEvent } from '#core/revocationRequests.js';
import {
  initializeRevocationDocument,
  publishRevocation,
  type RevocationPublisherDeps,
  type RevocationRecord,
} from '#core/tokenRevocation.js';
import { ENV } from './environment.js';
import {
  REVOCATIONS_BUCKET_ENV,
  readTokenRevocationEnv,
  type TokenRevocationEnv,
} from './tokenRevocationEnvironment.js';

/** Options of {@link createTokenRevocationDeps}: what a Lambda container takes by default, overridable. */
export interface TokenRevocationDepsOptions {
  readonly logger: StepLogger;
  /** @default - clients built from the standard configuration */
  readonly clients?: {
    readonly s3?: ReturnType<typeof s3Client>;
    readonly eventBridge?: FunctionClients['eventBridge'];
  };
  /** @default the system clock */
  readonly clock?: Clock;
}

/** The publisher's deps over `env`: the document in S3, the rotator's bus (as the rotator). */
export function createTokenRevocationDeps(
  env: TokenRevocationEnv,
  options: TokenRevocationDepsOptions,
): RevocationPublisherDeps {
  return {
    document: new S3RevocationDocument({
      client: options.clients?.s3 ?? s3Client(),
      bucketName: env[REVOCATIONS_BUCKET_ENV],
    }),
    events: new EventBridgePublisher({
      client: options.clients?.eventBridge ?? eventBridgeClient(),
      eventBusName: env[ENV.eventBusName],
    }),
    clock: options.clock ?? { now: () => new Date() },
    wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    logger: options.logger,
  };
}

/** What one invocation did. */
export type TokenRevocationResult =
  | { readonly outcome: 'revoked'; readonly record: RevocationRecord }
  /** The stack's custom resource: the empty document written on create, or the one there kept. */
  | { readonly outcome: 'document_initialized'; readonly document: 'written' | 'kept' | 'untouched' }
  | { readonly outcome: 'ignored'; readonly why: string };

/**
 * The Lambda entry of the TokenRevocationPublisher, behind the rule for a leak rotation's
 * `Rotation Completed` and an operator's `Token Revocation Requested`: merges the client's record
 * into the document and announces `Client Tokens Revoked`. A failure is thrown (Lambda retries an
 * asynchronous invocation, then the event goes to the async-failure queue). Deps are built once
 * per container, on the first invocation, or come from `depsFactory`.
 */
export function tokenRevocationPublisherHandler(
  depsFactory?: () => RevocationPublisherDeps,
  fetchImpl: typeof fetch = fetch,
): (event: unknown, context?: unknown) => Promise<TokenRevocationResult> {
  let container: RevocationPublisherDeps | undefined;
  const containerDeps = (): RevocationPublisherDeps => {
    container ??=
      depsFactory?.() ?? createTokenRevocationDeps(readTokenRevocationEnv(), { logger: lambdaLogger });
    return container;
  };
  return withInvocationContext(async (event: unknown): Promise<TokenRevocationResult> => {
    const deps = containerDeps();
    if (isCustomResourceRequest(event)) return initialDocument(deps, event, fetchImpl);
    const decision = revocationOfEvent(event, deps.clock.now());
    if (decision.record === null) {
      deps.logger.info('No token revocation called for', { why: decision.why });
      return { outcome: 'ignored', why: decision.why };
    }
    if (decision.requestedBy !== undefined || decision.note !== undefined) {
      deps.logger.info('Token revocation requested', {
        clientId: decision.record.clientId,
        requestedBy: decision.requestedBy,
        note: decision.note,
      });
    }
    return { outcome: 'revoked', record: await publishRevocation(deps, decision.record) };
  });
}

/**
 * The stack's `Custom::TokenRevocationDocument`: on Create, the empty document (kept if one is
 * there); Update and Delete touch nothing (the bucket's removal policy decides its fate). Always
 * answers CloudFormation, FAILED with the error's name and message, so a deploy never hangs.
 */
async function initialDocument(
  deps: RevocationPublisherDeps,
  event: unknown,
  fetchImpl: typeof fetch,
): Promise<TokenRevocationResult> {
  const request = CustomResourceRequestSchema.parse(event);
  const physicalResourceId = request.PhysicalResourceId ?? 'token-revocations.json';
  try {
    const document =
      request.RequestType === 'Create' ? await initializeRevocationDocument(deps) : 'untouched';
    deps.logger.info('Token revocation document initialized', { requestType: request.RequestType, document });
    await sendCustomResourceResponse(request, { status: 'SUCCESS', physicalResourceId }, fetchImpl);
    return { outcome: 'document_initialized', document };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
    deps.logger.warn('Token revocation document not initialized', {
      requestType: request.RequestType,
      reason,
    });
    await sendCustomResourceResponse(request, { status: 'FAILED', physicalResourceId, reason }, fetchImpl);
    throw error;
  }
}
