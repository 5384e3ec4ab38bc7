import { App, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { RotationWorkflow } from '../../../lib/constructs/RotationWorkflow.js';
import { RotatorLedger } from '../../../lib/constructs/RotatorLedger.js';

/** A bare stack with what the concern constructs build on: a real ledger and keys, and a bus. */
export function foundation(stackName: string) {
  // Skip asset bundling: these tests are about the template, not the bundles.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, stackName);
  const ledger = new RotatorLedger(stack, 'RotatorLedger');
  const eventBus = new events.EventBus(stack, 'Bus', { eventBusName: 'test-bus' });
  const resources = {
    ledger: ledger.table,
    eventBus,
    encryptionKey: ledger.encryptionKey,
    fingerprintKey: ledger.fingerprintKey,
    stytchCredentialsSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stytch/creds-AbCdEf',
    secretPrefix: 'stytch/m2m',
    environment: { ROTATOR_TABLE_NAME: ledger.table.tableName },
  };
  return { stack, ledger, eventBus, resources };
}

/** {@link foundation} with a {@link RotationWorkflow}: what the triggers and the access grants need. */
export function withWorkflow(stackName: string) {
  const base = foundation(stackName);
  const workflow = new RotationWorkflow(base.stack, 'RotationWorkflow', base.resources);
  return { ...base, workflow };
}
