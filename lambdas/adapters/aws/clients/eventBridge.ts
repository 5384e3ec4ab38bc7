import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { eventBridgeSdk } from '../sdk/eventBridge.js';
import { lazyClient } from './lazyClient.js';

/** An EventBridge client from the standard configuration, made (its SDK imported) on first use. */
export function eventBridgeClient(): EventBridgeClient {
  return lazyClient(async () => new (await eventBridgeSdk()).EventBridgeClient({}));
}
