import type { SFNClient } from '@aws-sdk/client-sfn';
import { sfnSdk } from '../sdk/sfn.js';
import { lazyClient } from './lazyClient.js';

/** A Step Functions client from the standard configuration, made (its SDK imported) on first use. */
export function sfnClient(): SFNClient {
  return lazyClient(async () => new (await sfnSdk()).SFNClient({}));
}
