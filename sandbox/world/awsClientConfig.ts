import type { AccessKey } from '../gateway/index.js';

/** The region of every emulated resource (moto's default; the sandbox's stack outputs name it). */
export const WORLD_REGION = 'us-east-1';

/** Options of {@link awsClientConfig} beyond the endpoint and credentials. */
export interface AwsClientConfigOptions {
  /**
   * Attempts per call, as the SDK counts them (a test against a local server sets it low to fail
   * fast on a mistake instead of backing off).
   * @default - the SDK's own (3)
   */
  readonly maxAttempts?: number;
}

/**
 * SDK v3 client settings for an emulated AWS (the sandbox gateway or moto itself): one endpoint, a
 * real region, and `credentials` (dummy ones by default: moto checks none, but the gateway refuses a
 * `PutEvents` not signed by a key it knows). The one such function: the sandbox and the tests' moto
 * helpers both use it.
 */
export function awsClientConfig(
  endpoint: string,
  credentials: AccessKey = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  options: AwsClientConfigOptions = {},
) {
  return {
    endpoint,
    region: WORLD_REGION,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  } as const;
}
