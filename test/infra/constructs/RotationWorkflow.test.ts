import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { RotationWorkflow, type RotationWorkflowProps } from '../../../lib/constructs/RotationWorkflow.js';
import { withWorkflow } from './support.js';

type Statement = { Action: string | string[] };

/** The actions of every statement attached to a role, from all of its policies. */
function actionsOf(template: Template, roleLogicalId: string): string[] {
  return Object.values(
    template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
    }),
  ).flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as Statement[]).flatMap((statement) => statement.Action),
  );
}

describe('Construct: RotationWorkflow', () => {
  let workflow: RotationWorkflow;
  let template: Template;
  let stack: Stack;

  beforeAll(() => {
    ({ workflow, stack } = withWorkflow('Workflow'));
    template = Template.fromStack(stack);
  });

  it('creates one function per step and a Standard state machine that invokes them', () => {
    // Assess
    expect([...workflow.functions.keys()]).toEqual([
      'StartRotation',
      'PublishPending',
      'AwaitConsumers',
      'CompleteRotation',
      'CancelRotation',
      'RecordFailure',
    ]);
    template.resourceCountIs('AWS::Lambda::Function', 6);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Starts a rotation at Stytch and stores AWSPENDING',
      Environment: { Variables: Match.objectLike({ ROTATOR_TABLE_NAME: Match.anyValue() }) },
    });
  });

  it('grants each step only what it calls: no secret to PublishPending, the Stytch credentials to StartRotation', () => {
    // Prepare
    const roleOf = (name: 'StartRotation' | 'PublishPending'): string =>
      stack.getLogicalId(workflow.stepFunction(name).role.node.defaultChild as iam.CfnRole);

    // Act
    const publishPending = actionsOf(template, roleOf('PublishPending'));
    const startRotation = actionsOf(template, roleOf('StartRotation'));

    // Assess
    expect(publishPending.filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
    expect(publishPending).toContain('events:PutEvents');
    expect(startRotation).toEqual(
      expect.arrayContaining(['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue']),
    );
    // Whether a lock's holder still runs: in a policy of its own, as the state machine depends on the function.
    expect(startRotation).toContain('states:DescribeExecution');
  });

  it('lets AwaitConsumers answer its task token through a policy apart from its default policy', () => {
    // Assess
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('AwaitConsumersTaskResponsePolicy'),
      PolicyDocument: {
        Statement: [Match.objectLike({ Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'] })],
      },
    });
  });

  it('refuses props that lack a resource, listing every missing one at once', () => {
    // Prepare
    const props = { environment: {} } as unknown as RotationWorkflowProps;

    // Act
    const build = () => new RotationWorkflow(new Stack(new App(), 'Bad'), 'RotationWorkflow', props);

    // Assess
    expect(build).toThrow(
      'Invalid RotationWorkflow props:\n- ledger is required\n- eventBus is required\n- encryptionKey is required\n' +
        '- fingerprintKey is required\n- stytchCredentialsSecretArn is required\n- secretPrefix is required',
    );
  });
});
