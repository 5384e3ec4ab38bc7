import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SecretReadError } from '../errors.js';
import { parseSecretString, type SecretSource } from '../secretSource.js';
import type { AwsCredentials } from './eventBridge.js';

// The library's only Secrets Manager code: the rest of consumer/ sees the SecretSource port.
export type { SecretsManagerClient };

/** A Secrets Manager client from the standard SDK configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, …) and `credentials`. */
export function defaultSecretsManagerClient(credentials?: AwsCredentials): SecretsManagerClient {
  return new SecretsManagerClient(credentials === undefined ? {} : { credentials });
}

/** {@link SecretSource} over an SDK v3 client; every read names its `VersionStage`. */
export function secretsManagerSource(client: SecretsManagerClient): SecretSource {
  return {
    async read(secretId, stage) {
      let answer: { VersionId?: string; SecretString?: string };
      try {
        answer = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
      } catch (error) {
        // No version holds the label (AWSPENDING outside a rotation): not an error for the caller.
        if (stage === 'AWSPENDING' && error instanceof ResourceNotFoundException) return undefined;
        throw new SecretReadError(secretId, stage, { cause: error, retryable: isRetryable(error) });
      }
      if (answer.VersionId === undefined) throw new SecretReadError(secretId, stage);
      return { versionId: answer.VersionId, credentials: parseSecretString(secretId, answer.SecretString) };
    },
    async stages(secretId) {
      try {
        const answer = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
        return answer.VersionIdsToStages ?? {};
      } catch (error) {
        throw new SecretReadError(secretId, 'stages', { cause: error, retryable: isRetryable(error) });
      }
    },
  };
}

function isRetryable(error: unknown): boolean {
  const fault = (error as { $fault?: string; $retryable?: unknown; name?: string } | undefined) ?? {};
  return fault.$fault === 'server' || fault.$retryable !== undefined || fault.name === 'ThrottlingException';
}
