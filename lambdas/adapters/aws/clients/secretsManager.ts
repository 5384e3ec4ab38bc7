import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretsManagerSdk } from '../sdk/secretsManager.js';
import { lazyClient } from './lazyClient.js';

/** A Secrets Manager client from the standard configuration, made (its SDK imported) on first use. */
export function secretsManagerClient(): SecretsManagerClient {
  return lazyClient(async () => new (await secretsManagerSdk()).SecretsManagerClient({}));
}
