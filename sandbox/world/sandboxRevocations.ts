/**
 * Token revocation in the sandbox (issue 16): the bucket `cdk deploy` would create, made in moto,
 * and the TokenRevocationPublisher bound as the target of its two rules, running behind the
 * gateway with the functions' own access key, as in Lambda.
 */

import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { StepLogger } from '#core/deps.js';
import type { RotatorEvent } from '#core/events.js';
import { REVOCATION_DOCUMENT_KEY, serializeRevocationDocument } from '#core/tokenRevocation.js';
import type { AccessKey } from '../gateway/iamQuery.js';
import { awsClientConfig } from './awsClientConfig.js';
import {
  type BoundHandler,
  bindTokenRevocationPublisher,
  TOKEN_REVOCATION_PUBLISHER_TARGET,
  tokenRevocationPublisherEnvironment,
} from './handlerBinding.js';

/** The bucket of the sandbox's revocation document (a deployment's is the `TokenRevocationsBucket` output). */
export const SANDBOX_REVOCATIONS_BUCKET = 'stytch-m2m-rotator-token-revocations';

/** Where a resource server GETs the document: path-style on the AWS endpoint (the gateway). */
export function sandboxRevocationsUrl(awsEndpoint: string): string {
  return `${awsEndpoint.replace(/\/+$/, '')}/${SANDBOX_REVOCATIONS_BUCKET}/${REVOCATION_DOCUMENT_KEY}`;
}

/**
 * Creates the bucket in moto (straight, before the gateway routes anything) with an empty document,
 * so a fail-closed verifier has something to read before the first revocation. Idempotent.
 */
export async function ensureRevocationsBucket(direct: ReturnType<typeof awsClientConfig>): Promise<void> {
  const s3 = new S3Client({ ...direct, forcePathStyle: true });
  try {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: SANDBOX_REVOCATIONS_BUCKET }));
    } catch (error) {
      // A reused moto (`--aws-endpoint`) has it from an earlier run.
      if (!(error instanceof Error && /BucketAlready(OwnedByYou|Exists)/.test(error.name))) throw error;
    }
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: SANDBOX_REVOCATIONS_BUCKET,
          Key: REVOCATION_DOCUMENT_KEY,
          Body: serializeRevocationDocument([], new Date()),
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
      );
    } catch (error) {
      // An earlier run's document (a reused moto) is kept: it may hold live records.
      if (!(error instanceof Error && /PreconditionFailed|ConditionalRequestConflict/.test(error.name)))
        throw error;
    }
  } finally {
    s3.destroy();
  }
}

/** Where the publisher runs, known once the gateway listens. */
export interface RevocationPublisherPlacement {
  readonly awsEndpoint: string;
  readonly accessKey: AccessKey;
}

/**
 * The publisher as a rule target (construct path tail → handler). Its clients are made on its
 * first invocation, from `placement()` (the gateway and the functions' key).
 */
export function revocationPublisherTargets(
  eventBusName: string,
  logger: StepLogger,
  placement: () => RevocationPublisherPlacement,
  observe: (event: RotatorEvent) => void,
): Record<string, BoundHandler> {
  const environment = tokenRevocationPublisherEnvironment({
    eventBusName,
    bucketName: SANDBOX_REVOCATIONS_BUCKET,
  });
  const clients = () => {
    const { awsEndpoint, accessKey } = placement();
    const config = awsClientConfig(awsEndpoint, accessKey);
    return {
      s3: new S3Client({ ...config, forcePathStyle: true }),
      eventBridge: new EventBridgeClient(config),
    };
  };
  return {
    [TOKEN_REVOCATION_PUBLISHER_TARGET]: bindTokenRevocationPublisher(environment, logger, clients, observe),
  };
}
