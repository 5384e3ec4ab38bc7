import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LAMBDA_BUNDLING } from './bundling.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * How Lambda retries an asynchronous invocation that throws before it gives the event to the
 * on-failure destination: its default retries, and its longest event age (6 h), so a function
 * that fails for a while (Stytch or DynamoDB down) still gets the event once it recovers.
 */
export const ASYNC_INVOKE = { retryAttempts: 2, maxEventAge: Duration.hours(6) } as const;

/** Props of {@link RotatorFunction}. */
export interface RotatorFunctionProps {
  /** Handler file under `lambdas/handlers/`, without extension, e.g. `startRotation`. */
  readonly handlerFile: string;
  /** What the function does (the Lambda description). */
  readonly description: string;
  /** Environment variables (never a secret value: ARNs and names only). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Log retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE - the logs outlive a deleted stack; a
   * failed first deploy takes its empty log group along. Its name is generated, so a kept one
   * never collides with a new stack's
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Timeout of one invocation.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Concurrent executions reserved for the function, which are also its cap.
   * @default - none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Where an asynchronous invocation (an EventBridge rule's) goes when it still fails after
   * {@link ASYNC_INVOKE}'s retries: without one, Lambda drops the event. Set it on every function
   * a rule or a schedule invokes.
   * @default - none: the function is only invoked synchronously (Step Functions, a Function URL)
   */
  readonly asyncFailureQueue?: sqs.IQueue;
}

/**
 * The one Lambda construct of the project: Node.js 24 on ARM64, bundled with a local esbuild (no
 * Docker) as {@link LAMBDA_BUNDLING} says (ESM, minified, source maps, the runtime's AWS SDK),
 * X-Ray tracing, Powertools settings, and its own log group with retention. Every function of the
 * rotator is one of these, so none repeats the options.
 */
export class RotatorFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  /** The function's execution role: its own log group, X-Ray, and what its owner grants it. */
  public readonly role: iam.Role;

  public constructor(scope: Construct, id: string, props: RotatorFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    // Its own role, not Lambda's default: AWSLambdaBasicExecutionRole would let it write to any
    // log group in the account. This one writes to its own log group only.
    this.role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.handlerFile}: its own log group and what it is granted`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.function = new NodejsFunction(this, 'Function', {
      role: this.role,
      entry: `${REPO_ROOT}lambdas/handlers/${props.handlerFile}.ts`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout ?? Duration.seconds(30),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'stytch-m2m-rotator',
        POWERTOOLS_METRICS_NAMESPACE: 'StytchM2MRotator',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      // Shared with the `bundles` benchmark, which measures what this deploys.
      bundling: { ...LAMBDA_BUNDLING, externalModules: [...LAMBDA_BUNDLING.externalModules] },
    });
    if (props.asyncFailureQueue !== undefined) {
      this.function.configureAsyncInvoke({
        ...ASYNC_INVOKE,
        onFailure: new destinations.SqsDestination(props.asyncFailureQueue),
      });
    }
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
        'permissions (Service Authorization Reference), so their resource must be *; it is the only * here.',
    });
  }
}
