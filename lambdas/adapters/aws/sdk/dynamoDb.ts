import type * as DynamoDbSdk from '@aws-sdk/client-dynamodb';
import { onFirstUse } from './onFirstUse.js';

/** `@aws-sdk/client-dynamodb` (clients, commands, exceptions), imported on the first call (see onFirstUse). */
export const dynamoDbSdk = onFirstUse<typeof DynamoDbSdk>(() => import('@aws-sdk/client-dynamodb'));
