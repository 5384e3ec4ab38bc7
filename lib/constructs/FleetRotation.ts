import { type CfnElement, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { EVENT_SOURCES } from '../../lambdas/core/events.js';
import { FLEET_ITEM_ERRORS, FLEET_RESULTS_PREFIX } from '../../lambdas/core/fleetRotation.js';
import { LEAK_DETAIL_TYPE } from './grants.js';

const MAP_LABEL = 'RotateEach';
const RESULT_WRITER_V2_FLAG = '@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2';

/** Props of {@link FleetRotation}. */
export interface FleetRotationProps {
  /** The rotation workflow each selected client is rotated by (one child execution per client). */
  readonly rotationStateMachine: sfn.IStateMachine;
  /**
   * The rotator's bus: in a leak run, a client whose rotation was refused because one is in
   * progress gets a `Secret Leak Detected` here (as the operator who started the run), which has
   * the leak intake complete that rotation at once.
   */
  readonly eventBus: events.IEventBus;
  /**
   * Log retention of the fleet execution log.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the selection bucket and the execution log when the stack is deleted.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Fleet rotation (`rotator rotate --all | --selector`): a Distributed Map over the client ids the
 * CLI wrote to the selection bucket, each rotated by one execution of the rotation workflow, at
 * most `maxConcurrency` at once, the run failing once more than `toleratedFailurePercentage` of
 * them did not complete. The input (see lambdas/core/fleetRotation.ts):
 * `{selection: {bucket, key, count}, trigger, reason, requestedBy, maxConcurrency, toleratedFailurePercentage}`.
 *
 * The clients' rotations still take the shared rate budget one by one: the concurrency bounds how
 * many wait at once, the budget how fast they reach Stytch.
 */
export class FleetRotation extends Construct {
  /** Where the CLI writes each run's selection (`selections/<run>.json`) and the map writes its results. */
  public readonly bucket: s3.Bucket;
  /** The fleet workflow. */
  public readonly stateMachine: sfn.StateMachine;
  /** The Distributed Map's label: Step Functions reports its items under `<state machine ARN>/<label>`. */
  public readonly mapLabel = MAP_LABEL;

  public constructor(scope: Construct, id: string, props: FleetRotationProps) {
    super(scope, id);
    // aws-cdk-lib renders ResultWriterV2 only under this flag (recommended, in cdk.json): set here,
    // the map writes its results in an app without it too.
    this.node.setContext(RESULT_WRITER_V2_FLAG, true);
    validateProps(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.bucket = this.createBucket(removalPolicy);

    const rotateEach = new sfn.DistributedMap(this, 'RotateEach', {
      stateName: MAP_LABEL,
      label: MAP_LABEL,
      itemReader: new sfn.S3JsonItemReader({
        bucket: this.bucket,
        key: sfn.JsonPath.stringAt('$.selection.key'),
      }),
      itemSelector: {
        'clientId.$': '$$.Map.Item.Value.clientId',
        'trigger.$': '$.trigger',
        'reason.$': '$.reason',
        'requestedBy.$': '$.requestedBy',
        'fleetRun.$': '$$.Execution.Name',
      },
      maxConcurrencyPath: '$.maxConcurrency',
      toleratedFailurePercentagePath: '$.toleratedFailurePercentage',
      mapExecutionType: sfn.StateMachineType.STANDARD,
      // Results go to the bucket: 10,000 items' results would not fit the 256 KiB state payload.
      resultWriterV2: new sfn.ResultWriterV2({ bucket: this.bucket, prefix: FLEET_RESULTS_PREFIX }),
      resultPath: '$.results',
    });
    rotateEach.itemProcessor(this.itemProcessor(props), {
      mode: sfn.ProcessorMode.DISTRIBUTED,
      executionType: sfn.ProcessorType.STANDARD,
    });
    const done = new sfn.Succeed(this, 'FleetRotated', { stateName: 'FleetRotated' });
    this.stateMachine = this.createStateMachine(rotateEach.next(done), props, removalPolicy);
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [props.eventBus.eventBusArn],
        conditions: {
          StringEquals: { 'events:source': EVENT_SOURCES.operator, 'events:detail-type': LEAK_DETAIL_TYPE },
        },
      }),
    );
  }

  /** The bucket of the runs' selections and the map's results. */
  private createBucket(removalPolicy: RemovalPolicy): s3.Bucket {
    const bucket = new s3.Bucket(this, 'SelectionBucket', {
      // Client ids and execution ARNs, never a secret: S3's own key is enough.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      // A run's selection and results matter while it runs and for its review, not for ever.
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'No server access log bucket: the CLI writes one selection per fleet run and the state machine reads it; ' +
        'both are in the execution history and CloudTrail.',
    });
    return bucket;
  }

  /**
   * One item: the client's rotation (an execution of the rotation workflow, waited for), then its
   * outcome: rotated, preempted (a leak run that met a rotation in progress), or not rotated.
   */
  private itemProcessor(props: FleetRotationProps): sfn.IChainable {
    const rotateClient = new tasks.StepFunctionsStartExecution(this, 'RotateClient', {
      stateName: 'RotateClient',
      stateMachine: props.rotationStateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      // The rotation workflow's strict input, tagged with this run (each rotation record keeps it).
      input: sfn.TaskInput.fromObject({
        'clientId.$': '$.clientId',
        'trigger.$': '$.trigger',
        'reason.$': '$.reason',
        'requestedBy.$': '$.requestedBy',
        'fleetRun.$': '$.fleetRun',
      }),
      // Only what a fleet summary needs: never the rotation's whole output. Kept beside the item.
      resultSelector: {
        'executionArn.$': '$.ExecutionArn',
        'outcome.$': '$.Output.outcome',
      },
      resultPath: '$.rotation',
    });
    // Starting a child execution can meet Step Functions' own throttling: retry, never fail the item.
    rotateClient.addRetry({
      errors: [
        'StepFunctions.ExecutionLimitExceededException',
        'StepFunctions.AWSStepFunctionsException',
        'StepFunctions.SdkClientException',
      ],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 8,
      maxDelay: Duration.minutes(1),
      jitterStrategy: sfn.JitterType.FULL,
    });
    const rotated = new sfn.Succeed(this, 'Rotated', { stateName: 'Rotated' });
    // A cancelled or refused rotation changed nothing, but the client was not rotated: it counts
    // against the run's tolerated failures, which is what stops a campaign that breaks services.
    const notRotated = (stateName: string, error: string, cause: string): sfn.Fail =>
      new sfn.Fail(this, stateName, { stateName, error, cause });
    // A leak run must not leave a leaked secret alive because another rotation held the client:
    // the leak report has the intake complete that rotation at once (the preemption `rotator
    // emergency <clientId>` does), which kills the secret as this run's would have.
    // A Task of its own (not tasks.EventBridgePutEvents), so the grant below can say which source
    // and detail type it may put: the operator's leak report, nothing else.
    const preempt = new sfn.CustomState(this, 'PreemptRotationInProgress', {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Stack.of(this).partition}:states:::events:putEvents`,
        Parameters: {
          Entries: [
            {
              EventBusName: props.eventBus.eventBusArn,
              Source: EVENT_SOURCES.operator,
              DetailType: LEAK_DETAIL_TYPE,
              Detail: {
                'clientId.$': '$.clientId',
                source: 'rotator-fleet-run',
                'requestedBy.$': '$.requestedBy',
                'reference.$': '$.fleetRun',
              },
            },
          ],
        },
        ResultPath: null,
        Retry: [
          {
            ErrorEquals: [
              'EventBridge.EventBridgeException',
              'EventBridge.SdkClientException',
              'States.TaskFailed',
            ],
            IntervalSeconds: 1,
            BackoffRate: 2,
            MaxAttempts: 6,
            JitterStrategy: 'FULL',
          },
        ],
      },
    });
    preempt.next(new sfn.Succeed(this, 'Preempted', { stateName: 'Preempted' }));
    const outcome = new sfn.Choice(this, 'Outcome', { stateName: 'Outcome' })
      .when(sfn.Condition.stringEquals('$.rotation.outcome', 'completed'), rotated)
      .when(
        sfn.Condition.and(
          sfn.Condition.stringEquals('$.rotation.outcome', 'rejected'),
          sfn.Condition.stringEquals('$.trigger', 'leak'),
        ),
        preempt,
      )
      .when(
        sfn.Condition.stringEquals('$.rotation.outcome', 'cancelled'),
        notRotated(
          'Cancelled',
          FLEET_ITEM_ERRORS.cancelled,
          'The rotation was cancelled: the secret is unchanged',
        ),
      )
      .otherwise(
        notRotated(
          'Refused',
          FLEET_ITEM_ERRORS.refused,
          'The rotation was refused (one in progress, or the client is not managed)',
        ),
      );
    return rotateClient.next(outcome);
  }

  private createStateMachine(
    definition: sfn.IChainable,
    props: FleetRotationProps,
    removalPolicy: RemovalPolicy,
  ): sfn.StateMachine {
    const stack = Stack.of(this);
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'ExecutionLogs', {
          // As the rotation workflow's: under /aws/vendedlogs/, unique to this stack.
          logGroupName: `/aws/vendedlogs/states/${stack.stackName}-fleet-${Fn.select(2, Fn.split('/', stack.stackId))}`,
          retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
          removalPolicy,
        }),
        level: sfn.LogLevel.ERROR,
        includeExecutionData: false,
      },
    });
    const logicalId = (construct: Construct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
    const executions = (machine: Construct, suffix: string) =>
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(machine)}"}]}]}${suffix}]`;
    Validations.of(stateMachine).acknowledge(
      {
        id: executions(props.rotationStateMachine, '*'),
        reason:
          'Describe and stop the rotation executions the map starts (one per client, named at run time).',
      },
      {
        id: executions(stateMachine, ':*'),
        reason: 'The Distributed Map starts its child executions within this state machine.',
      },
      {
        id: executions(stateMachine, '/RotateEach:*'),
        reason: "Describe and stop the map run's child executions (named at run time).",
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${logicalId(this.bucket)}>/*]`,
        reason:
          "Read the run's selection and write its results: objects named at run time, in this bucket only.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Execution logging and X-Ray support no resource-level permissions; the map run needs ' +
          'states:DescribeExecution/StopExecution on the child executions it starts.',
      },
      {
        id: 'AwsSolutions-SF1',
        reason:
          'Errors only: a run of 10,000 items would log 10,000 child executions; their history is their own.',
      },
    );
    return stateMachine;
  }
}

/** Checks every prop and throws once, listing every problem. */
function validateProps(props: FleetRotationProps): void {
  const problems: string[] = [];
  for (const name of ['rotationStateMachine', 'eventBus'] as const) {
    if ((props as Partial<FleetRotationProps>)[name] === undefined) problems.push(`${name} is required`);
  }
  if (problems.length > 0) throw new Error(`Invalid FleetRotation props:\n- ${problems.join('\n- ')}`);
}
