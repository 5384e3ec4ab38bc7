import { randomUUID } from 'node:crypto';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { RunOptions } from 'aws-local-stepfunctions';
import { TaskFailureError } from './errors.js';
import type { ExecutionHistory, HistoryEventDetails } from './history.js';
import { json } from './history.js';
import { LOCAL_INPUT_KEY, LOCAL_TIMEOUT_KEY, type TaskPlan } from './localDefinition.js';
import type { TaskTokenRegistry } from './taskTokens.js';
import { isRecord } from './template.js';
import type { LocalHandlerContext, LocalLambdaHandler, LocalTaskHandler } from './types.js';

/** aws-local-stepfunctions' `taskResourceLocalHandlers` (keyed by state name). */
export type LibraryTaskHandlers = NonNullable<
  NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']
>;

/** A Task state with the local handler that runs it. */
export interface BoundTask {
  readonly plan: TaskPlan;
  readonly handler: LocalLambdaHandler | LocalTaskHandler;
}

/** One execution, as the binding sees it. */
export interface RunBinding {
  readonly executionArn: string;
  readonly region: string;
  readonly history: ExecutionHistory;
  readonly tokens: TaskTokenRegistry;
  /** The run context's `Task` object: `$$.Task.Token` reads `Token` when `Parameters` are resolved. */
  readonly taskContext: { Token: string };
  readonly isRunning: () => boolean;
  /**
   * False for a task of a Distributed Map's item processor once that map run has failed: the task's
   * item was stopped with it, so the task must not start (or be recorded) any more.
   * @default - every task is active while the execution runs
   */
  readonly isStateActive?: (stateName: string) => boolean;
}

/** The `taskResourceLocalHandlers` of one run: every bound Task state, closed over this execution. */
export function bindRun(tasks: ReadonlyMap<string, BoundTask>, run: RunBinding): LibraryTaskHandlers {
  const handlers: LibraryTaskHandlers = {};
  for (const [stateName, bound] of tasks) {
    handlers[stateName] = (input) => {
      const task = runTask(bound, input, run);
      // The library calls a handler before it checks the state's timeout value and abandons the
      // promise when that check fails; a rejection then must not be an unhandled one.
      task.catch(() => undefined);
      return task as never;
    };
  }
  return handlers;
}

/**
 * Runs one attempt of a Task state: calls the handler, wraps its result as the real service returns
 * it, maps a thrown error to the Step Functions error, waits for the callback of a
 * `.waitForTaskToken` task, and records the task's history events.
 */
async function runTask(bound: BoundTask, rawParameters: unknown, run: RunBinding): Promise<unknown> {
  const { plan } = bound;
  const { parameters, timeoutSeconds } = unwrapParameters(plan, rawParameters);
  if (plan.timeoutPath !== 'none' && !(Number.isInteger(timeoutSeconds) && (timeoutSeconds ?? 0) >= 1)) {
    // The library fails the state with States.Runtime (as AWS does); the function is never invoked.
    throw new TaskFailureError('States.Runtime', 'TimeoutSecondsPath does not select a positive integer.', {
      final: true,
    });
  }

  let token: string | undefined;
  let callback: Promise<unknown> | undefined;
  if (plan.waitForTaskToken) {
    // `$$.Task.Token` was read from the run context while `Parameters` were resolved, just before this
    // call (synchronously). Replace it now so the next callback task, or the next attempt of this one,
    // gets its own token, as on AWS.
    token = run.taskContext.Token;
    run.taskContext.Token = run.tokens.issue();
    callback = run.tokens.wait(token, {
      executionArn: run.executionArn,
      stateName: plan.stateName,
      ...(timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 }),
      ...(plan.heartbeatSeconds === undefined ? {} : { heartbeatMs: plan.heartbeatSeconds * 1000 }),
    });
    callback.catch(() => undefined);
  }

  // The library dispatched this state's StateEntered (or StateRetried) just before calling us; after
  // one macrotask the history has recorded it, so task events follow it in order.
  await nextMacrotask();
  if (!isActive(plan, run)) {
    if (token !== undefined) run.tokens.close(token);
    throw new TaskFailureError(
      'States.Runtime',
      run.isRunning() ? 'The map run of this item has ended.' : 'The execution has ended.',
      { final: true },
    );
  }
  const record = recorder(plan, run);
  record.scheduled(parameters, timeoutSeconds);

  const context: LocalHandlerContext = {
    functionName: plan.lambdaFunction?.functionName ?? plan.resource,
    executionArn: run.executionArn,
    stateName: plan.stateName,
    ...(token === undefined ? {} : { taskToken: token }),
  };
  const invocation = invoke(bound, parameters, context);
  if (callback === undefined) {
    try {
      const response = await invocation;
      record.succeeded(response);
      return response;
    } catch (error) {
      record.failed(error);
      throw error;
    }
  }

  const submitted = invocation.then((response) => {
    record.submitted(response);
    return callback;
  });
  submitted.catch(() => undefined);
  try {
    // The callback may arrive before the function returns; it completes the task either way.
    const output = await Promise.race([callback, submitted]);
    record.succeeded(output);
    return output;
  } catch (error) {
    if (token !== undefined) run.tokens.close(token);
    record.failed(error);
    throw error;
  }
}

/** Whether the task may still run and record events: the execution runs, and so does its map run. */
function isActive(plan: TaskPlan, run: RunBinding): boolean {
  return run.isRunning() && (run.isStateActive?.(plan.stateName) ?? true);
}

/** Calls the handler with a JSON copy of its input and returns the service's response. */
async function invoke(bound: BoundTask, parameters: unknown, context: LocalHandlerContext): Promise<unknown> {
  const { plan, handler } = bound;
  if (plan.kind === 'service') {
    try {
      return jsonCopy((await handler(jsonCopy(parameters), context)) ?? null);
    } catch (error) {
      if (error instanceof TaskFailureError) throw error;
      throw error instanceof Error
        ? new TaskFailureError(error.name, error.message)
        : new TaskFailureError('Error', String(error));
    }
  }
  const payload =
    plan.kind === 'lambdaInvoke'
      ? isRecord(parameters) && 'Payload' in parameters
        ? parameters.Payload
        : {}
      : parameters;
  let result: unknown;
  try {
    result = await handler(jsonCopy(payload), context);
  } catch (error) {
    throw lambdaFunctionError(error);
  }
  let returned: unknown;
  try {
    returned = jsonCopy(result ?? null);
  } catch (error) {
    throw lambdaFunctionError(error, 'Runtime.MarshalError');
  }
  if (plan.kind === 'lambdaFunction') return returned;
  // What lambda:invoke really returns (so `OutputPath: "$.Payload"` / `ResultSelector` work as on AWS).
  return {
    ExecutedVersion: '$LATEST',
    Payload: returned,
    SdkHttpMetadata: { HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: randomUUID() },
    StatusCode: 200,
  };
}

/**
 * What Step Functions reports for an error a Node.js Lambda function threw: Error = the error's `name`,
 * Cause = the JSON the Lambda runtime returns (`errorType`, `errorMessage`, `trace`).
 */
export function lambdaFunctionError(thrown: unknown, errorType?: string): TaskFailureError {
  const error = thrown instanceof Error ? thrown : undefined;
  const type = errorType ?? error?.name ?? 'Error';
  const cause = JSON.stringify({
    errorType: type,
    errorMessage: error?.message ?? String(thrown),
    trace: error?.stack?.split('\n') ?? [],
  });
  return new TaskFailureError(type, cause);
}

/** Removes what the local definition added (see `planLocalDefinition`). */
function unwrapParameters(plan: TaskPlan, raw: unknown): { parameters: unknown; timeoutSeconds?: number } {
  if (plan.timeoutPath === 'none' || !isRecord(raw)) {
    return {
      parameters: raw,
      ...(plan.timeoutSeconds === undefined ? {} : { timeoutSeconds: plan.timeoutSeconds }),
    };
  }
  const { [LOCAL_TIMEOUT_KEY]: timeout, [LOCAL_INPUT_KEY]: input, ...rest } = raw;
  return {
    parameters: plan.timeoutPath === 'wrapped' ? input : rest,
    ...(typeof timeout === 'number' ? { timeoutSeconds: timeout } : {}),
  };
}

/** Writes one task's history events (Task* for service integrations, LambdaFunction* for a Lambda ARN). */
function recorder(plan: TaskPlan, run: RunBinding) {
  const { history } = run;
  const lambdaArn = plan.kind === 'lambdaFunction';
  const ids = { resourceType: plan.resourceType, resource: plan.resourceName };
  const alive = (): boolean => isActive(plan, run);
  return {
    scheduled(parameters: unknown, timeoutSeconds: number | undefined): void {
      const timeout = timeoutSeconds === undefined ? {} : { timeoutInSeconds: timeoutSeconds };
      if (lambdaArn) {
        history.add('LambdaFunctionScheduled', {
          lambdaFunctionScheduledEventDetails: {
            resource: plan.resource,
            input: json(parameters),
            inputDetails: { truncated: false },
            ...timeout,
          },
        });
        history.add('LambdaFunctionStarted');
        return;
      }
      history.add('TaskScheduled', {
        taskScheduledEventDetails: {
          ...ids,
          region: run.region,
          parameters: json(parameters),
          ...timeout,
          ...(plan.heartbeatSeconds === undefined ? {} : { heartbeatInSeconds: plan.heartbeatSeconds }),
        },
      });
      history.add('TaskStarted', { taskStartedEventDetails: ids });
    },
    submitted(response: unknown): void {
      if (!alive()) return;
      history.add('TaskSubmitted', {
        taskSubmittedEventDetails: { ...ids, output: json(response), outputDetails: { truncated: false } },
      });
    },
    succeeded(output: unknown): void {
      if (!alive()) return;
      const details: HistoryEventDetails = lambdaArn
        ? {
            lambdaFunctionSucceededEventDetails: {
              output: json(output),
              outputDetails: { truncated: false },
            },
          }
        : {
            taskSucceededEventDetails: { ...ids, output: json(output), outputDetails: { truncated: false } },
          };
      history.add(lambdaArn ? 'LambdaFunctionSucceeded' : 'TaskSucceeded', details);
    },
    failed(thrown: unknown): void {
      if (!alive()) return;
      const error = thrown instanceof Error ? thrown.name : 'Error';
      const cause = thrown instanceof Error ? thrown.message : String(thrown);
      if (lambdaArn) {
        history.add('LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error, cause } });
      } else if (error === 'States.HeartbeatTimeout') {
        history.add('TaskTimedOut', { taskTimedOutEventDetails: { ...ids, error, cause } });
      } else {
        history.add('TaskFailed', { taskFailedEventDetails: { ...ids, error, cause } });
      }
    },
  };
}

function jsonCopy(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
