import type * as S3Sdk from '@aws-sdk/client-s3';
import { onFirstUse } from './onFirstUse.js';

/** `@aws-sdk/client-s3` (clients, commands, exceptions), imported on the first call (see onFirstUse). */
export const s3Sdk = onFirstUse<typeof S3Sdk>(() => import('@aws-sdk/client-s3'));
