import type * as DynamoDocumentSdk from '@aws-sdk/lib-dynamodb';
import { onFirstUse } from './onFirstUse.js';

/** `@aws-sdk/lib-dynamodb` (the document client and its commands), imported on the first call (see onFirstUse). */
export const dynamoDocumentSdk = onFirstUse<typeof DynamoDocumentSdk>(() => import('@aws-sdk/lib-dynamodb'));
