import { Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { RETRYABLE_ERROR_NAMES } from '../lambdas/core/retryableErrorNames.js';

/** The Lambda behind each task of the workflow. */
export interface RotationFunctions {
  readonly startRotation: lambda.IFunction;
  readonly publishPending: lambda.IFunction;
  readonly awaitConsumers: lambda.IFunction;
  readonly completeRotation: lambda.IFunction;
  readonly cancelRotation: lambda.IFunction;
  readonly recordFailure: lambda.IFunction;
}

/** Props of {@link RotationStateMachine}. */
export interface RotationStateMachineProps {
  readonly functions: RotationFunctions;
  /**
   * Log retention of the execution log group (execution data is logged: it never holds a secret).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the execution log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE - the execution history outlives a deleted
   * stack; its name holds the stack id's unique part, so a new stack never collides with it
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * Error names the tasks retry for a few minutes: our own TransientError (see
 * lambdas/core/retryableErrorNames.ts) plus Lambda's own transient faults.
 */
export const RETRYABLE_ERRORS = [
  RETRYABLE_ERROR_NAMES.transient,
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * How a dead or stuck Lambda reaches Step Functions: a function timeout (`Sandbox.Timedout`), a
 * container that died (`Runtime.ExitError`, `Lambda.Unknown`) and the task's own timeout
 * (`States.Timeout`). Every task but the wait is idempotent, so each retries them like a
 * transient fault; on the wait, `States.Timeout` is the rotation's deadline and is caught instead.
 */
export const CRASH_ERRORS = ['Sandbox.Timedout', 'Runtime.ExitError', 'Lambda.Unknown'] as const;
const TASK_TIMEOUT_ERROR = 'States.Timeout';

/**
 * The rotation workflow of docs/design.md as a Standard state machine (JSONPath; the local executor
 * cannot evaluate JSONata). Every Lambda gets the whole state and returns it with its part added.
 */
export class RotationStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;

  public constructor(scope: Construct, id: string, props: RotationStateMachineProps) {
    super(scope, id);
    const f = props.functions;
    const ends = this.endStates();
    const recordFailure = this.invoke('RecordFailure', f.recordFailure).next(ends.failed);
    const failureIn = (stateName: string): sfn.IChainable =>
      new sfn.Pass(this, `FailureIn${stateName}`, {
        stateName: `FailureIn${stateName}`,
        result: sfn.Result.fromString(stateName),
        resultPath: '$.failedState',
      }).next(recordFailure);
    const cancelBecause = this.cancelPath(f.cancelRotation, failureIn, ends.cancelled);
    const cancelOnError = cancelBecause('error');
    const completeRotation = this.completePath(f.completeRotation, failureIn, ends.completed);

    const prepare = new sfn.Pass(this, 'Prepare', {
      stateName: 'Prepare',
      parameters: { 'input.$': '$', 'executionId.$': '$$.Execution.Id' },
    });
    const startRotation = this.invoke('StartRotation', f.startRotation);
    startRotation.addCatch(ends.rejected, { errors: ['RotationInProgressError'], resultPath: '$.error' });
    startRotation.addCatch(ends.invalidRequest, {
      errors: ['InvalidInputError', 'UnknownClientError', 'NotEnrolledError'],
      resultPath: '$.error',
    });
    startRotation.addCatch(cancelOnError, { errors: ['States.ALL'], resultPath: '$.error' });
    const publishPending = this.invoke('PublishPending', f.publishPending);
    publishPending.addCatch(cancelOnError, { errors: ['States.ALL'], resultPath: '$.error' });
    const awaitConsumers = this.awaitStep(f.awaitConsumers, cancelBecause, completeRotation);
    awaitConsumers.addCatch(cancelOnError, { errors: ['States.ALL'], resultPath: '$.error' });
    awaitConsumers.next(
      new sfn.Pass(this, 'Complete: consumers', {
        stateName: 'Complete: consumers',
        parameters: { 'reason.$': '$.await.reason' },
        resultPath: '$.completion',
      }).next(completeRotation),
    );

    // StartRotation decided the wait when no consumer is expected (`$.rotation.decided`, claimed in
    // the write that stored the pending secret): no task token is kept for a wait nobody takes part in.
    const waitDecided = new sfn.Choice(this, 'WaitDecided', { stateName: 'WaitDecided' })
      .when(
        sfn.Condition.isPresent('$.rotation.decided'),
        new sfn.Pass(this, 'Complete: decided at start', {
          stateName: 'Complete: decided at start',
          parameters: { 'reason.$': '$.rotation.decided.reason' },
          resultPath: '$.completion',
        }).next(completeRotation),
      )
      .otherwise(awaitConsumers);

    const definition = prepare.next(startRotation).next(publishPending).next(waitDecided);
    this.stateMachine = this.createStateMachine(definition, props);
    this.acknowledgeFindings(f);
  }

  /** Retriers are tried in order; each error name is in exactly one of them. */
  private retry(task: sfn.TaskStateBase, options: { readonly crashIncludesTimeout: boolean }): void {
    task.addRetry({
      errors: [
        ...RETRYABLE_ERRORS,
        ...CRASH_ERRORS,
        ...(options.crashIncludesTimeout ? [TASK_TIMEOUT_ERROR] : []),
      ],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 6,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });
    // Stytch's rate limits reset at fixed boundaries (up to an hour away) and it sends no
    // Retry-After: back off in the state machine, not in a Lambda, for longer than a window.
    task.addRetry({
      errors: [RETRYABLE_ERROR_NAMES.rateLimited],
      interval: Duration.seconds(30),
      backoffRate: 2,
      maxAttempts: 20,
      maxDelay: Duration.minutes(10),
      jitterStrategy: sfn.JitterType.FULL,
    });
    // The shared budget's window is full: its next window opens within seconds (at most an
    // hour), so try again soon and often; the jitter spreads the waiters over the window.
    task.addRetry({
      errors: [RETRYABLE_ERROR_NAMES.budgetWait],
      interval: Duration.seconds(1),
      backoffRate: 1.5,
      maxAttempts: 99,
      maxDelay: Duration.minutes(1),
      jitterStrategy: sfn.JitterType.FULL,
    });
  }

  /** A task that gives the whole state to `fn` and continues with what it returns. */
  private invoke(stateName: string, fn: lambda.IFunction): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(this, stateName, {
      stateName,
      lambdaFunction: fn,
      payload: sfn.TaskInput.fromJsonPathAt('$'),
      outputPath: '$.Payload',
      retryOnServiceExceptions: false,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(5)),
    });
    this.retry(task, { crashIncludesTimeout: true });
    return task;
  }

  /** The states an execution ends in. */
  private endStates() {
    const completed = new sfn.Succeed(this, 'Completed', { stateName: 'Completed', outputPath: '$.outcome' });
    const cancelled = new sfn.Succeed(this, 'Cancelled', { stateName: 'Cancelled', outputPath: '$.outcome' });
    // A refused request changed nothing and is not a failure: a double-click pages no one. The
    // execution succeeds with `outcome: rejected | invalid_request` (the CLI exits non-zero on it).
    const refused = (stateName: string, outcome: string, reason: string): sfn.IChainable =>
      new sfn.Pass(this, stateName, {
        stateName,
        parameters: {
          outcome,
          reason,
          // Not the client id: a malformed input may have none, and a missing path would fail the state.
          'error.$': '$.error.Error',
        },
      }).next(new sfn.Succeed(this, `${stateName}Outcome`, { stateName: `${stateName}: refused` }));
    const rejected = refused('Rejected', 'rejected', 'rotation_in_progress');
    const invalidRequest = refused('InvalidRequest', 'invalid_request', 'invalid_request');
    const failed = new sfn.Fail(this, 'Failed', {
      stateName: 'Failed',
      error: 'RotationFailed',
      cause: 'The rotation could not be completed or cancelled; see the ledger and the Rotation Failed event',
    });
    return { completed, cancelled, rejected, invalidRequest, failed };
  }

  /** The cancel step; returns how to reach it for a reason (`Cancel: <reason>` records the reason). */
  private cancelPath(
    fn: lambda.IFunction,
    failureIn: (stateName: string) => sfn.IChainable,
    cancelled: sfn.IChainable,
  ): (reason: string) => sfn.IChainable {
    const cancelRotation = this.invoke('CancelRotation', fn);
    cancelRotation.addCatch(failureIn('CancelRotation'), { errors: ['States.ALL'], resultPath: '$.error' });
    // A leak rotation that had to be cancelled because of an error leaves the leaked secret alive:
    // that must page (Failed), not end quietly as Cancelled.
    cancelRotation.next(
      new sfn.Choice(this, 'LeakGivenUp', { stateName: 'LeakGivenUp' })
        .when(
          sfn.Condition.and(
            sfn.Condition.stringEquals('$.input.trigger', 'leak'),
            sfn.Condition.stringEquals('$.cancellation.reason', 'error'),
          ),
          failureIn('LeakRotation'),
        )
        .otherwise(cancelled),
    );
    return (reason) =>
      new sfn.Pass(this, `CancelBecause_${reason}`, {
        stateName: `Cancel: ${reason}`,
        result: sfn.Result.fromObject({ reason }),
        resultPath: '$.cancellation',
      }).next(cancelRotation);
  }

  /** The complete step: forward only, retried for hours while Stytch has not confirmed. */
  private completePath(
    fn: lambda.IFunction,
    failureIn: (stateName: string) => sfn.IChainable,
    completed: sfn.IChainable,
  ): tasks.LambdaInvoke {
    const completeRotation = this.invoke('CompleteRotation', fn);
    // Forward only: once AWSCURRENT moved, the only way out is completing at Stytch. The step
    // reports that state as CompletionPending, retried for hours; whatever still fails goes to
    // RecordFailure, never to the cancel path, and the execution reconciler (or the next start)
    // finishes the job with the reconciliation rule, which never cancels AWSCURRENT.
    completeRotation.addRetry({
      errors: [RETRYABLE_ERROR_NAMES.completionPending],
      interval: Duration.seconds(10),
      backoffRate: 2,
      maxAttempts: 40,
      maxDelay: Duration.minutes(15),
      jitterStrategy: sfn.JitterType.FULL,
    });
    completeRotation.addCatch(failureIn('CompleteRotation'), {
      errors: ['States.ALL'],
      resultPath: '$.error',
    });
    completeRotation.next(completed);
    return completeRotation;
  }

  /**
   * The wait for consumers' reports (a task token), until the rotation's deadline; its outcomes
   * other than an unexpected error, which the caller catches.
   */
  private awaitStep(
    fn: lambda.IFunction,
    cancelBecause: (reason: string) => sfn.IChainable,
    completeRotation: tasks.LambdaInvoke,
  ): tasks.LambdaInvoke {
    const awaitConsumers = new tasks.LambdaInvoke(this, 'AwaitConsumers', {
      stateName: 'AwaitConsumers',
      lambdaFunction: fn,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        rotation: sfn.JsonPath.objectAt('$.rotation'),
      }),
      // The deadline StartRotation fixed for this rotation, in seconds from now.
      taskTimeout: sfn.Timeout.at('$.rotation.policy.deadlineSeconds'),
      resultPath: '$.await',
      retryOnServiceExceptions: false,
    });
    this.retry(awaitConsumers, { crashIncludesTimeout: false });
    const completeBecause = (id: string, reason: sfn.Result): sfn.IChainable =>
      new sfn.Pass(this, id, { stateName: id, result: reason, resultPath: '$.completion' }).next(
        completeRotation,
      );
    const onDeadline = new sfn.Choice(this, 'DeadlinePassed', { stateName: 'DeadlinePassed' })
      .when(
        sfn.Condition.stringEquals('$.rotation.policy.onDeadline', 'complete'),
        completeBecause(
          'Complete: deadline_fail_secure',
          sfn.Result.fromObject({ reason: 'deadline_fail_secure' }),
        ),
      )
      .otherwise(cancelBecause('deadline_fail_safe'));
    awaitConsumers.addCatch(onDeadline, { errors: ['States.Timeout'], resultPath: '$.error' });
    const cancelOn = (error: string, reason: string): void => {
      awaitConsumers.addCatch(cancelBecause(reason), { errors: [error], resultPath: '$.error' });
    };
    cancelOn('ConsumerUnhealthy', 'consumer_unhealthy');
    cancelOn('LeakOfPendingSecret', 'leak_of_pending');
    // `rotator cancel` answers the token with OperatorCancelled: AWSPENDING goes, then Stytch cancels.
    cancelOn('OperatorCancelled', 'operator');
    return awaitConsumers;
  }

  private createStateMachine(definition: sfn.IChainable, props: RotationStateMachineProps): sfn.StateMachine {
    const stack = Stack.of(this);
    return new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      tracingEnabled: true,
      timeout: Duration.days(8),
      logs: {
        destination: new logs.LogGroup(this, 'ExecutionLogs', {
          // Under /aws/vendedlogs/ CloudWatch Logs needs no resource-policy entry per log group
          // (that policy's 5,120 characters run out with a few state machines). A name of ours
          // must not collide with the log group a deleted stack kept: the last part of the
          // stack id is unique to each stack ever created.
          logGroupName: `/aws/vendedlogs/states/${stack.stackName}-rotation-${Fn.select(2, Fn.split('/', stack.stackId))}`,
          retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
          removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
  }

  private acknowledgeFindings(functions: RotationFunctions): void {
    const stack = Stack.of(this);
    Validations.of(this.stateMachine).acknowledge(
      ...Object.values(functions).map((fn: lambda.IFunction) => ({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        reason: 'Lets the state machine invoke versions and aliases of its own named function, nothing else.',
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Execution logging (logs:CreateLogDelivery and friends) and X-Ray (xray:PutTraceSegments) support no ' +
          'resource-level permissions, so their resource must be *.',
      },
    );
  }
}
