import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../sdk/s3.js';
import { lazyClient } from './lazyClient.js';

/**
 * An S3 client from the standard configuration, made (its SDK imported) on first use. Path-style
 * addressing when `AWS_ENDPOINT_URL` names an endpoint (the sandbox's one AWS endpoint, moto
 * behind the gateway, has no per-bucket host names); AWS's own virtual-hosted style otherwise.
 */
export function s3Client(): S3Client {
  const forcePathStyle = (process.env.AWS_ENDPOINT_URL ?? '') !== '';
  return lazyClient(async () => new (await s3Sdk()).S3Client({ forcePathStyle }));
}
