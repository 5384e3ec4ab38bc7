import type * as SfnSdk from '@aws-sdk/client-sfn';
import { onFirstUse } from './onFirstUse.js';

/** `@aws-sdk/client-sfn` (clients, commands, exceptions), imported on the first call (see onFirstUse). */
export const sfnSdk = onFirstUse<typeof SfnSdk>(() => import('@aws-sdk/client-sfn'));
