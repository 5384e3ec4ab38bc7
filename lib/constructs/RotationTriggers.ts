import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EVENT_SOURCES } from '../../lambdas/core/events.js';
import { ENV } from '../../lambdas/wiring/environment.js';
import { RotatorFunction } from '../RotatorFunction.js';
import { FUNCTION_ACCESS } from './functionAccess.js';
import {
  acknowledgeExecutions,
  describeExecutionsStatement,
  FUNCTION_RESOURCE_NAMES,
  grantFunctionAccess,
  HEALTH_REPORT_DETAIL_TYPE,
  LEAK_DETAIL_TYPE,
  missingProps,
  type RotatorFunctionResources,
  taskResponseStatement,
} from './grants.js';

/** Props of {@link RotationTriggers}. */
export interface RotationTriggersProps extends RotatorFunctionResources {
  /** The rotation workflow the triggers start and answer. */
  readonly stateMachine: sfn.StateMachine;
  /**
   * Sources of the configured leak scanners, besides the rotator, the GitHub webhook and operators:
   * the leak rule matches these.
   * @default - none
   */
  readonly leakScannerSources?: readonly string[];
  /**
   * Environment of the trigger functions (ARNs and names only, never a secret value), as the
   * workflow's functions get it; the leak intake and the reconciler also get the state machine's ARN.
   */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * What happens to the two queues and the registered-schedules group when the stack is deleted.
   * @default RemovalPolicy.DESTROY - the queues hold what this stack's rules and schedules failed
   * to deliver, and the group the schedules of registered clients that start this stack's state
   * machine: without the stack, neither means anything
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Log retention of the trigger functions.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the functions' log groups when the stack is deleted.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (see {@link RotatorFunction})
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Where the resources are created. {@link StytchM2MRotator} passes itself: its resources were
   * its own children before it was split by concern, and a new logical id would replace the queues
   * (and the messages in them) and the schedule group (and the schedules in it).
   * @default - this construct
   */
  readonly resourceScope?: Construct;
}

/** How a rule's target retries an event before it goes to the dead-letter queue. */
const RULE_TARGET_RETRIES = { retryAttempts: 3, maxEventAge: Duration.hours(1) } as const;

/**
 * What starts and answers rotations besides the CLI: a schedule per scheduled client, the
 * registered clients' schedule group, the leak intake, the health aggregator and the execution
 * reconciler behind their EventBridge rules, and the queues where undelivered and failed events end.
 */
export class RotationTriggers extends Construct {
  /** Events and schedules that could not be delivered to their target. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Events a rule delivered to a function that then failed on them, after Lambda's retries. */
  public readonly asyncFailureQueue: sqs.Queue;
  /** Receives `Consumer Health Reported` events and answers the waiting workflow. */
  public readonly healthAggregator: RotatorFunction;
  /** Receives `Secret Leak Detected` events: starts leak rotations and preempts rotations in progress. */
  public readonly leakIntake: RotatorFunction;
  /** Receives the state machine's FAILED, ABORTED and TIMED_OUT status changes (default bus). */
  public readonly executionReconciler: RotatorFunction;
  /** The schedule group `rotator apply` and `rotator register` create the clients' schedules in. */
  public readonly registeredSchedules: scheduler.ScheduleGroup;
  /** The role those schedules start executions with. */
  public readonly registeredSchedulesRole: iam.Role;

  public constructor(scope: Construct, id: string, props: RotationTriggersProps) {
    super(scope, id);
    validateProps(props);
    const within = props.resourceScope ?? this;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.asyncFailureQueue = createAsyncFailureQueue(within, removalPolicy);
    this.healthAggregator = this.createHealthAggregator(within, props);
    this.leakIntake = this.createLeakIntake(within, props);
    this.executionReconciler = this.createExecutionReconciler(within, props);
    this.deadLetterQueue = createDeadLetterQueue(within, removalPolicy);
    this.createRules(within, props);
    // The clients' schedules are data, like the clients: `rotator apply` (and `register`) create
    // them in this group, with this role as their target role. The template holds none.
    this.registeredSchedules = new scheduler.ScheduleGroup(within, 'RegisteredSchedules', { removalPolicy });
    this.registeredSchedulesRole = new iam.Role(within, 'RegisteredSchedulesRole', {
      description: 'Assumed by EventBridge Scheduler to start the scheduled rotations of the managed clients',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    props.stateMachine.grantStartExecution(this.registeredSchedulesRole);
    // A start that fails after Scheduler's retries goes to the dead-letter queue (and its alarm),
    // as every rule target's does: a missed rotation is never silent.
    this.deadLetterQueue.grantSendMessages(this.registeredSchedulesRole);
  }

  /** A function a rule invokes: its failures after Lambda's retries go to the async-failure queue. */
  private ruleFunction(
    within: Construct,
    props: RotationTriggersProps,
    id: string,
    handler: readonly [handlerFile: string, description: string],
    environment: Readonly<Record<string, string>> = {},
  ): RotatorFunction {
    return new RotatorFunction(within, id, {
      handlerFile: handler[0],
      description: handler[1],
      environment: { ...props.environment, ...environment },
      asyncFailureQueue: this.asyncFailureQueue,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.logRemovalPolicy === undefined ? {} : { logRemovalPolicy: props.logRemovalPolicy }),
    });
  }

  private createHealthAggregator(within: Construct, props: RotationTriggersProps): RotatorFunction {
    const aggregator = this.ruleFunction(within, props, 'HealthAggregatorFunction', [
      'healthAggregator',
      'Records consumer health reports',
    ]);
    grantFunctionAccess(aggregator.function, FUNCTION_ACCESS.HealthAggregator, props);
    // It answers the waiting task token: in a policy of its own (see taskResponseStatement).
    new iam.Policy(within, 'HealthAggregatorTaskResponsePolicy', {
      roles: [aggregator.role],
      statements: [taskResponseStatement(props.stateMachine)],
    });
    return aggregator;
  }

  /**
   * The leak intake (which starts the workflow) and the reconciler come after the state machine,
   * so they alone can be given its ARN: the steps cannot, the state machine depends on them.
   */
  private createLeakIntake(within: Construct, props: RotationTriggersProps): RotatorFunction {
    const intake = this.ruleFunction(
      within,
      props,
      'LeakIntakeFunction',
      ['leakIntake', 'Turns Secret Leak Detected into a leak rotation, or preempts the rotation in progress'],
      { [ENV.stateMachineArn]: props.stateMachine.stateMachineArn },
    );
    const fn = intake.function;
    grantFunctionAccess(fn, FUNCTION_ACCESS.LeakIntake, props);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    // Built after the state machine, so its default policy may name it (no cycle).
    fn.addToRolePolicy(describeExecutionsStatement(props.stateMachine));
    acknowledgeExecutions(intake.role, props.stateMachine);
    new iam.Policy(within, 'LeakIntakeTaskResponsePolicy', {
      roles: [intake.role],
      statements: [taskResponseStatement(props.stateMachine)],
    });
    return intake;
  }

  /**
   * An execution that failed, was stopped or timed out never ran its own cleanup: the reconciler
   * does what CompleteRotation or CancelRotation would have (reconcile.ts: promote or drop the
   * pending secret, complete or cancel at Stytch), so it needs what both of them have.
   */
  private createExecutionReconciler(within: Construct, props: RotationTriggersProps): RotatorFunction {
    const reconciler = this.ruleFunction(
      within,
      props,
      'ExecutionReconcilerFunction',
      [
        'executionReconciler',
        'Reconciles a rotation whose execution failed, was stopped or timed out, and releases its lock',
      ],
      { [ENV.stateMachineArn]: props.stateMachine.stateMachineArn },
    );
    grantFunctionAccess(reconciler.function, FUNCTION_ACCESS.ExecutionReconciler, props);
    reconciler.function.addToRolePolicy(describeExecutionsStatement(props.stateMachine));
    acknowledgeExecutions(reconciler.role, props.stateMachine);
    return reconciler;
  }

  private createRules(within: Construct, props: RotationTriggersProps): void {
    const target = (fn: lambda.IFunction): eventTargets.LambdaFunction =>
      new eventTargets.LambdaFunction(fn, { deadLetterQueue: this.deadLetterQueue, ...RULE_TARGET_RETRIES });
    const leakReporterSources = [
      EVENT_SOURCES.rotator,
      EVENT_SOURCES.githubWebhook,
      EVENT_SOURCES.operator,
      ...(props.leakScannerSources ?? []),
    ];
    new events.Rule(within, 'LeakRule', {
      eventBus: props.eventBus,
      description:
        'Secret Leak Detected from a known reporter (the rotator, the GitHub webhook, operators, configured scanners) goes to the leak intake',
      // The source is who spoke, and IAM decides who may use which: an event from anyone else never
      // reaches the intake (the bus policy and the publishers' events:source conditions).
      eventPattern: { source: [...leakReporterSources], detailType: [LEAK_DETAIL_TYPE] },
      targets: [target(this.leakIntake.function)],
    });
    new events.Rule(within, 'HealthRule', {
      eventBus: props.eventBus,
      description: "Consumer Health Reported, from a consumer's own source, goes to the health aggregator",
      // Only a consumer's source (`stytch-m2m-rotator.consumer.<name>`, which only that consumer's
      // principal may use); the aggregator checks that the name matches the report's `consumer`.
      eventPattern: {
        source: events.Match.prefix(EVENT_SOURCES.consumerPrefix),
        detailType: [HEALTH_REPORT_DETAIL_TYPE],
      },
      targets: [target(this.healthAggregator.function)],
    });
    // Step Functions sends every Standard execution's status changes to the default bus.
    new events.Rule(within, 'ExecutionEndedRule', {
      description:
        'A rotation execution that failed, was stopped or timed out goes to the execution reconciler',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'ABORTED', 'TIMED_OUT'],
          stateMachineArn: [props.stateMachine.stateMachineArn],
        },
      },
      targets: [target(this.executionReconciler.function)],
    });
  }
}

/**
 * Lambda retries a failed asynchronous invocation twice, then drops the event unless the function
 * has an on-failure destination: every function a rule invokes sends it here.
 */
function createAsyncFailureQueue(within: Construct, removalPolicy: RemovalPolicy): sqs.Queue {
  return createEndOfLineQueue(
    within,
    'AsyncFailureQueue',
    removalPolicy,
    'This queue is itself the on-failure destination of the functions EventBridge invokes (their failed ' +
      'events end here); cdk-nag recognises only SQS redrive as DLQ use. Nothing consumes it automatically, ' +
      'so it needs no DLQ.',
  );
}

/** The dead-letter queue of the rule targets and the schedules. */
function createDeadLetterQueue(within: Construct, removalPolicy: RemovalPolicy): sqs.Queue {
  return createEndOfLineQueue(
    within,
    'DeadLetterQueue',
    removalPolicy,
    'This queue is itself the dead-letter queue of the EventBridge rule targets and the Scheduler targets; ' +
      'cdk-nag recognises only SQS redrive as DLQ use. Nothing consumes it automatically, so it needs no DLQ.',
  );
}

/**
 * A queue where failed events end (kept 14 days, encrypted, TLS only); it has no DLQ of its own,
 * which `whyNoDlq` explains to cdk-nag.
 */
function createEndOfLineQueue(
  within: Construct,
  id: string,
  removalPolicy: RemovalPolicy,
  whyNoDlq: string,
): sqs.Queue {
  const queue = new sqs.Queue(within, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy,
  });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: whyNoDlq });
  return queue;
}

/** Checks every prop and throws once, listing every problem. */
function validateProps(props: RotationTriggersProps): void {
  const problems = missingProps(props, [...FUNCTION_RESOURCE_NAMES, 'stateMachine', 'environment']);
  const sources = props.leakScannerSources ?? [];
  sources.forEach((source, index) => {
    if (sources.indexOf(source) !== index) {
      problems.push(`leakScannerSources[${index}] "${source}" is already listed`);
    }
  });
  if (problems.length > 0) throw new Error(`Invalid RotationTriggers props:\n- ${problems.join('\n- ')}`);
}
