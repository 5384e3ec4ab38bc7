import type * as EventBridgeSdk from '@aws-sdk/client-eventbridge';
import { onFirstUse } from './onFirstUse.js';

/** `@aws-sdk/client-eventbridge` (clients, commands, exceptions), imported on the first call (see onFirstUse). */
export const eventBridgeSdk = onFirstUse<typeof EventBridgeSdk>(() => import('@aws-sdk/client-eventbridge'));
