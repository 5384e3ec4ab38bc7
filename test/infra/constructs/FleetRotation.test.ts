import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FleetRotation, type FleetRotationProps } from '../../../lib/constructs/FleetRotation.js';
import { withWorkflow } from './support.js';

type States = Record<string, Record<string, unknown>>;

/** The fleet state machine's ASL, with CloudFormation tokens replaced by a placeholder. */
function fleetDefinition(template: Template): { StartAt: string; States: States } {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [fleet] = Object.entries(machines).filter(([id]) => id.startsWith('FleetStateMachine'));
  const parts = (fleet?.[1]?.Properties?.DefinitionString?.['Fn::Join']?.[1] ?? []) as unknown[];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(''));
}

describe('Construct: FleetRotation', () => {
  let template: Template;
  let definition: { StartAt: string; States: States };

  beforeAll(() => {
    const { stack, workflow, eventBus } = withWorkflow('Fleet');
    new FleetRotation(stack, 'Fleet', { rotationStateMachine: workflow.stateMachine, eventBus });
    template = Template.fromStack(stack);
    definition = fleetDefinition(template);
  });

  it('is one Distributed Map over the selection object, its concurrency and tolerated failures read from the input', () => {
    // Assess
    const map = definition.States[definition.StartAt] as Record<string, unknown>;
    expect(definition.StartAt).toBe('RotateEach');
    expect(map).toMatchObject({
      Type: 'Map',
      ItemReader: {
        Resource: 'arn:TOKEN:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: 'TOKEN', 'Key.$': '$.selection.key' },
      },
      MaxConcurrencyPath: '$.maxConcurrency',
      ToleratedFailurePercentagePath: '$.toleratedFailurePercentage',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
      // 10,000 items' results would not fit a state's 256 KiB: they go to the bucket.
      ResultWriter: { Resource: 'arn:TOKEN:states:::s3:putObject', Parameters: { Prefix: 'results/' } },
      ItemSelector: {
        'clientId.$': '$$.Map.Item.Value.clientId',
        'trigger.$': '$.trigger',
        'reason.$': '$.reason',
        'requestedBy.$': '$.requestedBy',
        'fleetRun.$': '$$.Execution.Name',
      },
    });
  });

  it('rotates each item with one execution of the rotation workflow, and fails the item unless it completed', () => {
    // Assess
    const processor = (definition.States.RotateEach as { ItemProcessor: { StartAt: string; States: States } })
      .ItemProcessor;
    expect(processor.StartAt).toBe('RotateClient');
    expect(processor.States.RotateClient).toMatchObject({
      Resource: 'arn:TOKEN:states:::states:startExecution.sync:2',
      Parameters: {
        StateMachineArn: 'TOKEN',
        Input: { 'clientId.$': '$.clientId', 'trigger.$': '$.trigger', 'fleetRun.$': '$.fleetRun' },
      },
      ResultSelector: { 'outcome.$': '$.Output.outcome' },
      ResultPath: '$.rotation',
    });
    expect(processor.States.Outcome).toMatchObject({
      Choices: [
        { Variable: '$.rotation.outcome', StringEquals: 'completed', Next: 'Rotated' },
        {
          And: [
            { Variable: '$.rotation.outcome', StringEquals: 'rejected' },
            { Variable: '$.trigger', StringEquals: 'leak' },
          ],
          Next: 'PreemptRotationInProgress',
        },
        { Variable: '$.rotation.outcome', StringEquals: 'cancelled', Next: 'Cancelled' },
      ],
      Default: 'Refused',
    });
    // A leak run reports the leak of a client another rotation holds: the intake completes that one.
    expect(processor.States.PreemptRotationInProgress).toMatchObject({
      Resource: 'arn:TOKEN:states:::events:putEvents',
      Parameters: {
        Entries: [
          {
            Source: 'stytch-m2m-rotator.operator',
            DetailType: 'Secret Leak Detected',
            Detail: { 'clientId.$': '$.clientId', 'reference.$': '$.fleetRun' },
          },
        ],
      },
      Next: 'Preempted',
    });
    expect(processor.States.Cancelled).toMatchObject({ Type: 'Fail', Error: 'Rotation.Cancelled' });
    expect(processor.States.Refused).toMatchObject({ Type: 'Fail', Error: 'Rotation.Refused' });
  });

  it('may start and stop the rotation workflow’s executions, read the selections and write results, nothing more', () => {
    // Assess
    const policies = Object.values(template.findResources('AWS::IAM::Policy'))
      .map((policy) => JSON.stringify(policy.Properties.PolicyDocument))
      .filter((text) => text.includes('FleetSelectionBucket'));
    const actions = policies.flatMap((text) =>
      (JSON.parse(text) as { Statement: { Action: string | string[] }[] }).Statement.flatMap((s) => s.Action),
    );
    expect(actions).toEqual(
      expect.arrayContaining(['s3:GetObject', 's3:PutObject', 'states:StartExecution']),
    );
    expect(actions).not.toContain('s3:DeleteObject');
    // Leak reports as the operator only.
    const putEvents = policies
      .flatMap(
        (text) => (JSON.parse(text) as { Statement: { Action: unknown; Condition?: unknown }[] }).Statement,
      )
      .filter((statement) => statement.Action === 'events:PutEvents');
    expect(putEvents).toEqual([
      expect.objectContaining({
        Condition: {
          StringEquals: {
            'events:source': 'stytch-m2m-rotator.operator',
            'events:detail-type': 'Secret Leak Detected',
          },
        },
      }),
    ]);
    expect(actions.filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('keeps the selections in a private, TLS-only bucket that forgets them after 90 days', () => {
    // Assess
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      }),
    });
  });

  it('names a missing rotation state machine', () => {
    // Prepare
    const { stack } = withWorkflow('FleetInvalid');

    // Act
    const create = () => new FleetRotation(stack, 'Fleet', {} as unknown as FleetRotationProps);

    // Assess
    expect(create).toThrow(
      /Invalid FleetRotation props:\n- rotationStateMachine is required\n- eventBus is required/,
    );
  });

  it('empties and deletes its bucket with a stack that asks to leave nothing behind', () => {
    // Prepare
    const { stack, workflow, eventBus } = withWorkflow('FleetDestroy');

    // Act
    new FleetRotation(stack, 'Fleet', {
      rotationStateMachine: workflow.stateMachine,
      eventBus,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Assess
    Template.fromStack(stack).hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    Template.fromStack(stack).resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });
});
