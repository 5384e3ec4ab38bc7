import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { RotatorStack } from '../../lib/RotatorStack.js';
import { StytchM2MRotator } from '../../lib/StytchM2MRotator.js';

function synthStack(): { app: App; template: Template } {
  // Skip asset bundling: these tests are about the template, not the bundles.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new RotatorStack(app, 'TestRotator');
  return { app, template: Template.fromStack(stack) };
}

describe('Construct: StytchM2MRotator', () => {
  it('creates a customer-managed key with automatic rotation, retained on delete', () => {
    // Act
    const { template } = synthStack();

    // Assess
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true, RotationPeriodInDays: 365 }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('creates a custom event bus encrypted with that key', () => {
    // Act
    const { template } = synthStack();

    // Assess
    template.hasResourceProperties('AWS::Events::EventBus', {
      Name: 'stytch-m2m-rotator',
      KmsKeyIdentifier: { 'Fn::GetAtt': [Match.stringLikeRegexp('EncryptionKey'), 'Arn'] },
    });
  });

  it('uses a key it is given instead of creating one', () => {
    // Prepare
    const stack = new Stack(new App(), 'Given');
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });

    // Act
    const rotator = new StytchM2MRotator(stack, 'Rotator', { encryptionKey: key });

    // Assess
    expect(rotator.encryptionKey).toBe(key);
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 1);
  });

  it('names the event bus and key in the stack outputs', () => {
    // Act
    const { template } = synthStack();

    // Assess
    template.hasOutput('EventBusName', { Value: Match.anyValue() });
    template.hasOutput('EncryptionKeyArn', { Value: Match.anyValue() });
  });

  it('reports every invalid prop at once', () => {
    // Prepare
    const stack = new Stack(new App(), 'Bad');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });

    // Act & Assess
    expect(
      () =>
        new StytchM2MRotator(stack, 'Rotator', {
          eventBusName: 'has spaces',
          encryptionKey: key,
          keyRemovalPolicy: RemovalPolicy.DESTROY,
        }),
    ).toThrow(/eventBusName "has spaces"[\s\S]*keyRemovalPolicy applies only/);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    // Prepare
    const { app } = synthStack();

    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);

    // Assess
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });
});
