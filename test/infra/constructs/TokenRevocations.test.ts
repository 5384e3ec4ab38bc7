import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenRevocations } from '../../../lib/constructs/TokenRevocations.js';

function build(removalPolicy?: RemovalPolicy) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Revocations');
  const eventBus = new events.EventBus(stack, 'Bus', { eventBusName: 'test-bus' });
  const revocations = new TokenRevocations(stack, 'TokenRevocations', {
    eventBus,
    ...(removalPolicy === undefined ? {} : { removalPolicy }),
  });
  return { revocations, template: Template.fromStack(stack) };
}

describe('Construct: TokenRevocations', () => {
  let revocations: TokenRevocations;
  let template: Template;

  beforeAll(() => {
    ({ revocations, template } = build());
  });

  it('keeps the document in a private, TLS-only, SSE-S3 bucket without versioning, kept unless the first deploy fails', () => {
    // Assess
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: Match.objectLike({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: Match.absent(),
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    expect(revocations.documentKey).toBe('token-revocations.json');
  });

  it('lets a resource server read the one document and nothing else', () => {
    // Assess
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Sid: 'ReadTheRevocationDocument',
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: {
              'Fn::Join': [
                '',
                [
                  { 'Fn::GetAtt': [Match.stringLikeRegexp('^TokenRevocationsBucket'), 'Arn'] },
                  '/token-revocations.json',
                ],
              ],
            },
          },
        ],
      },
    });
  });

  it('lets the publisher read and write that key and publish as the rotator only', () => {
    // Prepare
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const statements = policies.flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Condition?: unknown }[],
    );

    // Assess
    expect(statements.map((statement) => statement.Action)).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      ['s3:GetObject', 's3:PutObject'],
      'events:PutEvents',
    ]);
    expect(statements[3]?.Condition).toEqual({ StringEquals: { 'events:source': 'stytch-m2m-rotator' } });
  });

  it("runs the publisher on a leak rotation's or a leak-preempted rotation's completion or a leaked pending's cancellation from the rotator, and an operator's request from operators", () => {
    // Assess
    const patterns = Object.values(template.findResources('AWS::Events::Rule')).map(
      (rule) => rule.Properties.EventPattern,
    );
    expect(patterns).toEqual([
      {
        source: ['stytch-m2m-rotator'],
        'detail-type': ['Rotation Completed'],
        detail: { trigger: ['leak'] },
      },
      {
        source: ['stytch-m2m-rotator'],
        'detail-type': ['Rotation Completed'],
        detail: { reason: ['leak_escalated'] },
      },
      {
        source: ['stytch-m2m-rotator'],
        'detail-type': ['Rotation Cancelled'],
        detail: { reason: ['leak_of_pending'] },
      },
      { source: ['stytch-m2m-rotator.operator'], 'detail-type': ['Token Revocation Requested'] },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ROTATOR_EVENT_BUS_NAME: { Ref: Match.stringLikeRegexp('^Bus') },
          ROTATOR_REVOCATIONS_BUCKET: { Ref: Match.stringLikeRegexp('^TokenRevocationsBucket') },
        }),
      },
    });
  });

  it('writes the empty document when the stack is created, through the publisher, once its policy exists', () => {
    // Assess
    const resources = template.findResources('Custom::TokenRevocationDocument');
    expect(Object.keys(resources)).toHaveLength(1);
    const [initial] = Object.values(resources);
    expect(initial?.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^TokenRevocationsPublisherFunction/), 'Arn'] },
      Bucket: { Ref: expect.stringMatching(/^TokenRevocationsBucket/) },
      Key: 'token-revocations.json',
    });
    expect(initial?.DependsOn).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^TokenRevocationsPublisherFunctionServiceRoleDefaultPolicy/),
      ]),
    );
  });

  it('empties and deletes the bucket with the stack under RemovalPolicy.DESTROY', () => {
    // Act
    const { template: ephemeral } = build(RemovalPolicy.DESTROY);

    // Assess
    ephemeral.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    ephemeral.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });
});
