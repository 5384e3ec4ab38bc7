import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { loadDeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import { RotatorStack } from '../../lib/RotatorStack.js';

const samplePath = fileURLToPath(new URL('../../config/rotator.sample.json', import.meta.url));
/**
 * The logical ids of the stateful resources as deployed stacks have them (synthesized from the
 * sample config before the rotator was split by concern). They are retained with fixed names, or
 * attached from outside the stack (the managed policies), or hold history (log groups, alarms):
 * a new logical id fails an update on "already exists", or orphans and replaces them.
 */
const DEPLOYED: Record<string, string> = JSON.parse(
  readFileSync(fileURLToPath(new URL('./statefulLogicalIds.json', import.meta.url)), 'utf8'),
);
/**
 * Per-client resources the stack held until the clients became registry data: an update removes
 * them from the template (the secrets are retained, `RetainExceptOnCreate`), so they are the only
 * ids that may go.
 */
const PER_CLIENT = /^Rotator(ManagedSecret\d|MonitoringSecretAgeAlarm\d)/;
/** Stateful resources added since: new ids, none of them a renamed one. */
const ADDED: Record<string, string> = {
  RotatorMonitoringSecretsOverdueAlarm423C7131: 'AWS::CloudWatch::Alarm',
  RotatorMonitoringFleetDriftAlarm98AAC24C: 'AWS::CloudWatch::Alarm',
  RotatorFleetRotationExecutionLogs8458B39B: 'AWS::Logs::LogGroup',
};
/** What counts as stateful: the kinds above, and anything CloudFormation must retain. */
const STATEFUL_TYPES = new Set([
  'AWS::KMS::Key',
  'AWS::DynamoDB::Table',
  'AWS::SecretsManager::Secret',
  'AWS::Logs::LogGroup',
  'AWS::SQS::Queue',
  'AWS::Scheduler::ScheduleGroup',
  'AWS::Events::EventBus',
  'AWS::SNS::Topic',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::IAM::ManagedPolicy',
]);

describe('Logical ids of the stateful resources', () => {
  it('are exactly those of the deployed stacks, so an update replaces nothing and collides with no fixed name', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new RotatorStack(app, 'StytchM2MRotator', {
      config: loadDeploymentConfig(samplePath),
    });

    // Act
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { Type: string; DeletionPolicy?: string }
    >;

    // Assess
    const stateful = Object.fromEntries(
      Object.entries(resources)
        .filter(([, resource]) => STATEFUL_TYPES.has(resource.Type) || resource.DeletionPolicy === 'Retain')
        .map(([logicalId, resource]) => [logicalId, resource.Type]),
    );
    const kept = Object.fromEntries(
      Object.entries(DEPLOYED).filter(([logicalId]) => !PER_CLIENT.test(logicalId)),
    );
    expect(stateful).toEqual({ ...kept, ...ADDED });
    expect(Object.keys(DEPLOYED).filter((logicalId) => PER_CLIENT.test(logicalId))).toHaveLength(10);
  });
});
