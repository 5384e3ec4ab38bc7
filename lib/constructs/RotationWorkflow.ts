import type { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RotationStateMachine } from '../RotationStateMachine.js';
import { RotatorFunction } from '../RotatorFunction.js';
import { FUNCTION_ACCESS } from './functionAccess.js';
import {
  acknowledgeExecutions,
  describeExecutionsStatement,
  FUNCTION_RESOURCE_NAMES,
  grantFunctionAccess,
  missingProps,
  type RotatorFunctionResources,
  taskResponseStatement,
} from './grants.js';

/** Props of {@link RotationWorkflow}. */
export interface RotationWorkflowProps extends RotatorFunctionResources {
  /**
   * Environment of every step function (ARNs and names only, never a secret value): the ledger,
   * the bus, the secrets and the clients, as the handlers read them.
   */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Log retention of every step function and of the execution log.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the functions' log groups and the execution log when the stack is deleted.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Where the resources are created. {@link StytchM2MRotator} passes itself: its resources were
   * its own children before it was split by concern, and a new logical id would replace the
   * functions and orphan their retained log groups.
   * @default - this construct
   */
  readonly resourceScope?: Construct;
}

/** A step of the workflow: a Task of the state machine, run by one function. */
export type WorkflowStepName =
  | 'StartRotation'
  | 'PublishPending'
  | 'AwaitConsumers'
  | 'CompleteRotation'
  | 'CancelRotation'
  | 'RecordFailure';

/** Each step's handler file and Lambda description, in the order they are created. */
const STEPS: readonly (readonly [WorkflowStepName, string, string])[] = [
  ['StartRotation', 'startRotation', 'Starts a rotation at Stytch and stores AWSPENDING'],
  ['PublishPending', 'publishPending', 'Announces the pending secret to consumers'],
  ['AwaitConsumers', 'awaitConsumers', 'Keeps the task token while consumers report'],
  ['CompleteRotation', 'completeRotation', 'Promotes AWSPENDING and completes at Stytch'],
  ['CancelRotation', 'cancelRotation', 'Drops AWSPENDING and cancels at Stytch'],
  ['RecordFailure', 'recordFailure', 'Records a rotation that could not end cleanly'],
];

/**
 * The rotation workflow: one function per step, each granted what its step calls
 * ({@link FUNCTION_ACCESS}), and the {@link RotationStateMachine} that runs them.
 */
export class RotationWorkflow extends Construct {
  /** The step functions, by step name. */
  public readonly functions: ReadonlyMap<WorkflowStepName, RotatorFunction>;
  /** The rotation workflow. */
  public readonly stateMachine: sfn.StateMachine;

  public constructor(scope: Construct, id: string, props: RotationWorkflowProps) {
    super(scope, id);
    validateProps(props);
    const within = props.resourceScope ?? this;
    const functions = new Map<WorkflowStepName, RotatorFunction>();
    for (const [name, handlerFile, description] of STEPS) {
      functions.set(
        name,
        new RotatorFunction(within, `${name}Function`, {
          handlerFile,
          description,
          environment: props.environment,
          ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
          ...(props.logRemovalPolicy === undefined ? {} : { logRemovalPolicy: props.logRemovalPolicy }),
        }),
      );
    }
    this.functions = functions;
    // Granted before the state machine exists: it depends on these functions.
    for (const [name, rotatorFunction] of functions) {
      grantFunctionAccess(rotatorFunction.function, FUNCTION_ACCESS[name], props);
    }
    const lambdaOf = (name: WorkflowStepName) => this.stepFunction(name).function;
    this.stateMachine = new RotationStateMachine(within, 'Workflow', {
      functions: {
        startRotation: lambdaOf('StartRotation'),
        publishPending: lambdaOf('PublishPending'),
        awaitConsumers: lambdaOf('AwaitConsumers'),
        completeRotation: lambdaOf('CompleteRotation'),
        cancelRotation: lambdaOf('CancelRotation'),
        recordFailure: lambdaOf('RecordFailure'),
      },
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.logRemovalPolicy === undefined ? {} : { logRemovalPolicy: props.logRemovalPolicy }),
    }).stateMachine;
    this.grantStateMachineAccess(within);
  }

  /** The function of one step. */
  public stepFunction(name: WorkflowStepName): RotatorFunction {
    const found = this.functions.get(name);
    if (found === undefined) throw new Error(`no function ${name}`);
    return found;
  }

  /**
   * What the steps may do on the state machine, each in a policy of its own (in a role's default
   * policy it would make the function depend on the state machine, which depends on the functions):
   * AwaitConsumers answers its task token when the wait is already decided; StartRotation checks
   * whether a lock's holder is still running.
   */
  private grantStateMachineAccess(within: Construct): void {
    new iam.Policy(within, 'AwaitConsumersTaskResponsePolicy', {
      roles: [this.stepFunction('AwaitConsumers').role],
      statements: [taskResponseStatement(this.stateMachine)],
    });
    acknowledgeExecutions(
      new iam.Policy(within, 'StartRotationDescribeExecutionPolicy', {
        roles: [this.stepFunction('StartRotation').role],
        statements: [describeExecutionsStatement(this.stateMachine)],
      }),
      this.stateMachine,
    );
  }
}

/** Checks every prop and throws once, listing every problem. */
function validateProps(props: RotationWorkflowProps): void {
  const problems = missingProps(props, [...FUNCTION_RESOURCE_NAMES, 'environment']);
  if (problems.length > 0) throw new Error(`Invalid RotationWorkflow props:\n- ${problems.join('\n- ')}`);
}
