import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { beforeAll, describe, expect, it } from 'vitest';
import { RotatorAccess, type RotatorAccessProps } from '../../../lib/constructs/RotatorAccess.js';
import { withWorkflow } from './support.js';

describe('Construct: RotatorAccess', () => {
  let access: RotatorAccess;
  let stack: Stack;
  let template: Template;

  beforeAll(() => {
    const base = withWorkflow('Access');
    stack = base.stack;
    access = new RotatorAccess(stack, 'Access', {
      eventBus: base.eventBus,
      stateMachine: base.workflow.stateMachine,
      ledger: base.ledger.table,
      encryptionKey: base.ledger.encryptionKey,
      fingerprintKey: base.ledger.fingerprintKey,
      registeredSchedules: new scheduler.ScheduleGroup(stack, 'Registered'),
      secretPrefix: 'stytch/m2m',
      leakScannerSources: ['example.scanner'],
      crossAccountConsumerAccounts: ['222222222222'],
    });
    access.grantOperator(new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() }));
    access.grantHealthReports(
      new iam.Role(stack, 'Untagged', { assumedBy: new iam.AccountRootPrincipal() }),
      'billing-api',
    );
    template = Template.fromStack(stack);
  });

  it('lets a consumer publish health reports only as the source its principal tag names', () => {
    // Assess
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'events:PutEvents',
            Condition: {
              StringEquals: {
                // An IAM policy variable, not a template placeholder.
                'events:source': `stytch-m2m-rotator.consumer.\${aws:PrincipalTag/rotator-consumer}`,
                'events:detail-type': 'Consumer Health Reported',
              },
            },
          }),
        ],
      },
    });
  });

  it('gives operators no secret value: the fingerprint key is the only secret they may read', () => {
    // Prepare
    const policy =
      template.toJSON().Resources[
        stack.getLogicalId(access.operatorPolicy.node.defaultChild as iam.CfnManagedPolicy)
      ];

    // Act
    const reads = (policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Sid: string }[])
      .filter((statement) => [statement.Action].flat().includes('secretsmanager:GetSecretValue'))
      .map((statement) => statement.Sid);

    // Assess
    expect(reads).toEqual(['FingerprintKey']);
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [
        { Ref: stack.getLogicalId(access.operatorPolicy.node.defaultChild as iam.CfnManagedPolicy) },
      ],
    });
  });

  it('writes the bus policy: the rotator, the leak reporters and the consumers of this and the listed accounts', () => {
    // Assess
    const sids = Object.values(template.findResources('AWS::Events::EventBusPolicy')).map(
      (policy) => policy.Properties.Statement.Sid,
    );
    expect(sids).toEqual([
      'cdk-RotatorFunctions',
      'cdk-LeakReporters',
      'cdk-Consumers',
      'cdk-CrossAccountConsumers',
    ]);
    template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: Match.objectLike({
        Sid: 'cdk-LeakReporters',
        Condition: {
          StringEquals: {
            'events:source': [
              'stytch-m2m-rotator.github-webhook',
              'stytch-m2m-rotator.operator',
              'example.scanner',
            ],
            'events:detail-type': 'Secret Leak Detected',
          },
        },
      }),
    });
  });

  it('grants a consumer that cannot carry the tag its own source only, and refuses a bad consumer name', () => {
    // Prepare
    const role = new iam.Role(new Stack(new App(), 'Other'), 'Role', {
      assumedBy: new iam.AccountRootPrincipal(),
    });

    // Act
    const grantBadName = () => access.grantHealthReports(role, 'Not A Name');

    // Assess
    expect(grantBadName).toThrow(/grantHealthReports: consumer name "Not A Name"/);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Condition: {
              StringEquals: Match.objectLike({ 'events:source': 'stytch-m2m-rotator.consumer.billing-api' }),
            },
          }),
        ],
      },
    });
  });

  it('refuses bad props, listing every problem at once', () => {
    // Prepare
    const props = { crossAccountConsumerAccounts: ['12345'] } as unknown as RotatorAccessProps;

    // Act
    const build = () => new RotatorAccess(new Stack(new App(), 'Bad'), 'Access', props);

    // Assess
    expect(build).toThrow(
      /Invalid RotatorAccess props:\n- eventBus is required\n[\s\S]*- secretPrefix is required\n/,
    );
    expect(build).toThrow(/- crossAccountConsumerAccounts\[0\] "12345" is not a 12-digit AWS account id/);
  });
});
