import type * as SecretsManagerSdk from '@aws-sdk/client-secrets-manager';
import { onFirstUse } from './onFirstUse.js';

/** `@aws-sdk/client-secrets-manager` (clients, commands, exceptions), imported on the first call (see onFirstUse). */
export const secretsManagerSdk = onFirstUse<typeof SecretsManagerSdk>(
  () => import('@aws-sdk/client-secrets-manager'),
);
