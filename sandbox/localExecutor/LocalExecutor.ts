import { randomUUID } from 'node:crypto';
import { ExecutionTimeoutError, type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import { DistributedMapRuns } from './distributedMap.js';
import { type DistributedMapPlan, LOCAL_MAPS_CONTEXT_KEY } from './distributedMapPlan.js';
import { LocalExecutorTemplateError, LocalSfnApiError } from './errors.js';
import { describeFunction, expectedKey, matchHandlers } from './handlerMatching.js';
import { ExecutionHistory, json } from './history.js';
import { type BoundTask, bindRun, type RunBinding } from './lambdaBinding.js';
import {
  planLocalDefinition,
  retryIntervalOverrides,
  type TaskPlan,
  waitTimeOverrides,
} from './localDefinition.js';
import { TaskTokenRegistry } from './taskTokens.js';
import { resolveStateMachine, type TemplateLambdaFunction } from './template.js';
import type {
  DescribeExecutionOutput,
  ExecutionListItem,
  ExecutionStatus,
  GetExecutionHistoryParams,
  HistoryEvent,
  ListExecutionsParams,
  LocalExecutorOptions,
  LocalItemReader,
  StartExecutionParams,
  StartExecutionResult,
  StopExecutionParams,
} from './types.js';

const DEFAULT_REGION = 'us-east-1';
const DEFAULT_ACCOUNT_ID = '123456789012';
/** AWS: 1-80 characters; no whitespace, brackets, wildcards, `"#%\^|~`$&,;:/` or control characters. */
const VALID_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;

/** One execution's state. */
interface ExecutionRecord {
  readonly executionArn: string;
  readonly name: string;
  readonly inputJson: string;
  readonly startDate: Date;
  readonly history: ExecutionHistory;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  abort: () => void;
  done: Promise<void>;
}

type Outcome =
  | { readonly ok: true; readonly output: unknown }
  | { readonly ok: false; readonly error: unknown };

/** What {@link LocalExecutor.fromTemplate} prepared. */
interface PreparedMachine {
  readonly region: string;
  readonly accountId: string;
  readonly stateMachineArn: string;
  readonly stateMachineName: string;
  readonly roleArn?: string;
  readonly definition: Record<string, unknown>;
  readonly localDefinition: Record<string, unknown>;
  readonly machine: StateMachine;
  readonly tasks: ReadonlyMap<string, BoundTask>;
  readonly stateTypes: ReadonlyMap<string, string>;
  readonly distributedMaps: readonly DistributedMapPlan[];
  readonly itemReaders: Readonly<Record<string, LocalItemReader>>;
  readonly overrides: Omit<NonNullable<RunOptions['overrides']>, 'taskResourceLocalHandlers'>;
}

/**
 * Runs the state machine of a synthesized CDK template on one machine with aws-local-stepfunctions,
 * its Lambda tasks bound to local async handlers (the deployed handler code), and answers the Step
 * Functions API calls the rotator uses (StartExecution, DescribeExecution, ListExecutions,
 * GetExecutionHistory, StopExecution, SendTaskSuccess/Failure/Heartbeat) in AWS's shapes and with
 * AWS's error names. Executions run concurrently and independently. Deviations from AWS are listed in
 * README.md beside this file.
 *
 * @example
 * const executor = LocalExecutor.fromTemplate(app.synth().getStackByName('Rotator').template, {
 *   handlers: { StartRotationFunction: (payload) => startRotation(payload) },
 * });
 * const { executionArn } = executor.startExecution({ input: { clientId, trigger: 'manual' } });
 * const { status, output } = await executor.waitForExecution(executionArn);
 */
export class LocalExecutor {
  /** `arn:aws:states:<region>:<account>:stateMachine:<name>`. */
  public readonly stateMachineArn: string;
  public readonly stateMachineName: string;
  /** The synthesized definition with every CloudFormation intrinsic resolved to a placeholder. */
  public readonly definition: Record<string, unknown>;
  /**
   * What aws-local-stepfunctions actually runs: {@link definition} plus the timeout and Distributed
   * Map rewrites described in README.md (no other change).
   */
  public readonly localDefinition: Record<string, unknown>;

  private readonly prepared: PreparedMachine;
  private readonly executions = new Map<string, ExecutionRecord>();
  /** In start order; listed newest first. */
  private readonly started: ExecutionRecord[] = [];
  private readonly tokens = new TaskTokenRegistry();
  private readonly endListeners = new Set<(ended: DescribeExecutionOutput) => void>();
  private closed = false;

  private constructor(prepared: PreparedMachine) {
    this.prepared = prepared;
    this.stateMachineArn = prepared.stateMachineArn;
    this.stateMachineName = prepared.stateMachineName;
    this.definition = prepared.definition;
    this.localDefinition = prepared.localDefinition;
  }

  /**
   * Prepares the state machine of a synthesized CloudFormation template. Throws a
   * {@link LocalExecutorTemplateError} listing every problem: no state machine or several without
   * `stateMachineLogicalId`, an intrinsic with no placeholder, JSONata, a Lambda task whose function
   * has no handler (see `LocalExecutorOptions.handlers` for the matching rule), a non-Lambda task
   * without a `taskHandlers` entry, a Distributed Map whose ItemReader has no `itemReaders` entry or
   * that the local executor cannot run (see README.md), a definition aws-local-stepfunctions rejects.
   */
  public static fromTemplate(template: unknown, options: LocalExecutorOptions): LocalExecutor {
    const region = options.region ?? DEFAULT_REGION;
    const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
    const issues: string[] = [];
    for (const key of ['waitTimeScale', 'retryIntervalScale'] as const) {
      const scale = options[key];
      if (scale !== undefined && !(Number.isFinite(scale) && scale >= 0)) {
        issues.push(`${key} must be a finite number >= 0 (got ${scale}).`);
      }
    }

    const resolved = resolveStateMachine(template, {
      region,
      accountId,
      ...(options.stateMachineLogicalId === undefined
        ? {}
        : { stateMachineLogicalId: options.stateMachineLogicalId }),
      ...(options.stateMachineName === undefined ? {} : { stateMachineName: options.stateMachineName }),
    });
    issues.push(...resolved.issues);
    const { stateMachine } = resolved;
    if (stateMachine === undefined) throw new LocalExecutorTemplateError(issues);

    const plan = planLocalDefinition(stateMachine.definition, stateMachine.lambdaFunctions);
    issues.push(...plan.issues);
    const tasks = bindTasks(plan.tasks, options, issues);
    for (const map of plan.distributedMaps) {
      if (map.itemReaderResource !== undefined && options.itemReaders?.[map.mapName] === undefined) {
        issues.push(
          `Map state ${map.mapName} reads its items with ${map.itemReaderResource} (ItemReader); add itemReaders['${map.mapName}'].`,
        );
      }
    }

    let machine: StateMachine | undefined;
    try {
      machine = new StateMachine(plan.localDefinition as never);
    } catch (error) {
      issues.push(`aws-local-stepfunctions rejects the definition: ${(error as Error).message}`);
    }
    if (issues.length > 0 || machine === undefined) throw new LocalExecutorTemplateError(issues);

    return new LocalExecutor({
      region,
      accountId,
      stateMachineArn: stateMachine.arn,
      stateMachineName: stateMachine.name,
      ...(stateMachine.roleArn === undefined ? {} : { roleArn: stateMachine.roleArn }),
      definition: stateMachine.definition,
      localDefinition: plan.localDefinition,
      machine,
      tasks,
      stateTypes: plan.stateTypes,
      distributedMaps: plan.distributedMaps,
      itemReaders: options.itemReaders ?? {},
      // From the local definition: the states added before a Distributed Map have its Retry.
      overrides: {
        ...(options.waitTimeScale === undefined
          ? {}
          : { waitTimeOverrides: waitTimeOverrides(plan.localDefinition, options.waitTimeScale) }),
        ...(options.retryIntervalScale === undefined
          ? {}
          : {
              retryIntervalOverrides: retryIntervalOverrides(
                plan.localDefinition,
                options.retryIntervalScale,
              ),
            }),
      },
    });
  }

  /**
   * `StartExecution`. Starting again with the name of a running execution and the same input returns
   * that execution (as on AWS for Standard workflows); otherwise a used name is `ExecutionAlreadyExists`.
   */
  public startExecution(params: StartExecutionParams = {}): StartExecutionResult {
    if (this.closed) throw new LocalSfnApiError('ValidationException', 'The local executor is closed.');
    const name = params.name ?? randomUUID();
    if (!VALID_NAME.test(name)) throw new LocalSfnApiError('InvalidName', `Invalid Name: '${name}'`);
    const inputJson = inputJsonOf(params.input);
    const { region, accountId } = this.prepared;
    const executionArn = `arn:aws:states:${region}:${accountId}:execution:${this.stateMachineName}:${name}`;

    const existing = this.executions.get(executionArn);
    if (existing !== undefined) {
      if (existing.status === 'RUNNING' && existing.inputJson === inputJson) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new LocalSfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }

    const startDate = new Date();
    const record: ExecutionRecord = {
      executionArn,
      name,
      inputJson,
      startDate,
      history: new ExecutionHistory({
        ...(this.prepared.roleArn === undefined ? {} : { roleArn: this.prepared.roleArn }),
        stateTypes: this.prepared.stateTypes,
        tasks: new Map([...this.prepared.tasks].map(([stateName, bound]) => [stateName, bound.plan])),
        abortDetails: () => ({
          ...(record.error === undefined ? {} : { error: record.error }),
          ...(record.cause === undefined ? {} : { cause: record.cause }),
        }),
      }),
      status: 'RUNNING',
      abort: () => undefined,
      done: Promise.resolve(),
    };
    this.executions.set(executionArn, record);
    this.started.push(record);

    // `$$.Task.Token` is read from this object; the binding replaces the token after each use.
    const taskContext = { Token: this.tokens.issue() };
    const binding: RunBinding = {
      executionArn,
      region,
      history: record.history,
      tokens: this.tokens,
      taskContext,
      isRunning: () => record.status === 'RUNNING',
      isStateActive: (stateName) => maps.isStateActive(stateName),
    };
    // Distributed Maps: their items and map runs live in the run context, never in the state data.
    const maps = new DistributedMapRuns(this.prepared.distributedMaps, this.prepared.itemReaders, binding);
    const handlers = { ...bindRun(this.prepared.tasks, binding), ...maps.handlers };
    const run = this.prepared.machine.run(JSON.parse(inputJson), {
      overrides: { ...this.prepared.overrides, taskResourceLocalHandlers: handlers },
      noThrowOnAbort: true,
      context: {
        // The library sets Execution.Input and Execution.StartTime itself.
        Execution: {
          Id: executionArn,
          Name: name,
          RedriveCount: 0,
          ...(this.prepared.roleArn === undefined ? {} : { RoleArn: this.prepared.roleArn }),
        },
        StateMachine: { Id: this.stateMachineArn, Name: this.stateMachineName },
        Task: taskContext,
        [LOCAL_MAPS_CONTEXT_KEY]: maps.context,
      },
    });
    record.abort = run.abort;
    const outcome = run.result.then(
      (output): Outcome => ({ ok: true, output }),
      (error: unknown): Outcome => ({ ok: false, error }),
    );
    const drained = record.history.consume(run.eventLogs).catch(() => undefined);
    // Ends only once the history holds the end event, so a caller that sees the final status also sees it there.
    record.done = Promise.all([outcome, drained]).then(([result]) => this.finish(record, result));
    return { executionArn, startDate };
  }

  /**
   * Calls `listener` with the description of every execution that ends (SUCCEEDED, FAILED,
   * TIMED_OUT, ABORTED), as Step Functions emits `Step Functions Execution Status Change` events.
   * Returns a function that removes the listener.
   */
  public onExecutionEnded(listener: (ended: DescribeExecutionOutput) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  private announceEnd(record: ExecutionRecord): void {
    const ended = this.describeExecution(record.executionArn);
    for (const listener of this.endListeners) {
      try {
        listener(ended);
      } catch {
        // A listener's failure is its own (EventBridge delivery is not the execution's business).
      }
    }
  }

  /** `DescribeExecution`. */
  public describeExecution(executionArn: string): DescribeExecutionOutput {
    const record = this.record(executionArn);
    return {
      executionArn,
      stateMachineArn: this.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: record.startDate,
      ...(record.stopDate === undefined ? {} : { stopDate: record.stopDate }),
      input: record.inputJson,
      inputDetails: { included: true },
      ...(record.output === undefined ? {} : { output: record.output, outputDetails: { included: true } }),
      ...(record.error === undefined ? {} : { error: record.error }),
      ...(record.cause === undefined ? {} : { cause: record.cause }),
    };
  }

  /**
   * `ListExecutions`'s summaries, newest first (all of them: the gateway pages if it must).
   * A `stateMachineArn` other than this executor's is `StateMachineDoesNotExist`.
   */
  public listExecutions(params: ListExecutionsParams = {}): ExecutionListItem[] {
    if (params.stateMachineArn !== undefined && params.stateMachineArn !== this.stateMachineArn) {
      throw new LocalSfnApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${params.stateMachineArn}'`,
      );
    }
    return [...this.started]
      .reverse()
      .filter((record) => params.statusFilter === undefined || record.status === params.statusFilter)
      .map(
        (record): ExecutionListItem => ({
          executionArn: record.executionArn,
          stateMachineArn: this.stateMachineArn,
          name: record.name,
          status: record.status,
          startDate: record.startDate,
          ...(record.stopDate === undefined ? {} : { stopDate: record.stopDate }),
        }),
      );
  }

  /** `GetExecutionHistory`: `events` as AWS returns them (ids from 1, input/output as JSON text). */
  public getExecutionHistory(
    executionArn: string,
    params: GetExecutionHistoryParams = {},
  ): { events: HistoryEvent[]; nextToken?: string } {
    let events = this.record(executionArn).history.list();
    if (params.reverseOrder === true) events.reverse();
    if (params.includeExecutionData === false) events = events.map(withoutExecutionData);
    const { items, nextToken } = page(events, params.maxResults ?? 1000, params.nextToken);
    return { events: items, ...(nextToken === undefined ? {} : { nextToken }) };
  }

  /**
   * `StopExecution`: the execution is `ABORTED` at once, its waiting task tokens are closed, and its
   * running handlers' results are ignored. Stopping an ended execution changes nothing.
   */
  public stopExecution(executionArn: string, params: StopExecutionParams = {}): { stopDate: Date } {
    const record = this.record(executionArn);
    if (record.status !== 'RUNNING') return { stopDate: record.stopDate ?? new Date() };
    const stopDate = new Date();
    record.status = 'ABORTED';
    record.stopDate = stopDate;
    if (params.error !== undefined) record.error = params.error;
    if (params.cause !== undefined) record.cause = params.cause;
    this.tokens.closeExecution(executionArn, 'States.Runtime', 'The execution was stopped.');
    record.abort();
    this.announceEnd(record);
    return { stopDate };
  }

  /** `SendTaskSuccess`: `output` is JSON text. */
  public sendTaskSuccess(taskToken: string, output: string): void {
    this.tokens.succeed(taskToken, output);
  }

  /** `SendTaskFailure`: the task fails with Error = `error` and Cause = `cause`, as on AWS. */
  public sendTaskFailure(taskToken: string, error?: string, cause?: string): void {
    this.tokens.fail(taskToken, error, cause);
  }

  /** `SendTaskHeartbeat`. */
  public sendTaskHeartbeat(taskToken: string): void {
    this.tokens.heartbeat(taskToken);
  }

  /** Resolves with the execution's description once it has ended (and its history holds the end). */
  public async waitForExecution(executionArn: string): Promise<DescribeExecutionOutput> {
    await this.record(executionArn).done;
    return this.describeExecution(executionArn);
  }

  /** Stops every running execution and refuses new ones; resolves when all have ended. */
  public async close(): Promise<void> {
    this.closed = true;
    for (const record of this.started) {
      if (record.status === 'RUNNING') {
        this.stopExecution(record.executionArn, {
          error: 'LocalExecutorClosed',
          cause: 'The local executor was closed.',
        });
      }
    }
    await Promise.all(this.started.map((record) => record.done));
  }

  private record(executionArn: string): ExecutionRecord {
    const record = this.executions.get(executionArn);
    if (record === undefined) {
      throw new LocalSfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    }
    return record;
  }

  private finish(record: ExecutionRecord, outcome: Outcome): void {
    if (record.status !== 'RUNNING') return; // stopped: ABORTED already
    this.settle(record, outcome);
    this.announceEnd(record);
  }

  private settle(record: ExecutionRecord, outcome: Outcome): void {
    record.stopDate = new Date();
    if (outcome.ok) {
      record.status = 'SUCCEEDED';
      record.output = json(outcome.output);
      return;
    }
    if (outcome.error instanceof ExecutionTimeoutError) {
      record.status = 'TIMED_OUT';
      record.error = 'States.Timeout';
      return;
    }
    record.status = 'FAILED';
    const failure = record.history.failure;
    const error = outcome.error instanceof Error ? (outcome.error.cause ?? outcome.error) : outcome.error;
    record.error = failure?.error ?? (error instanceof Error ? error.name : 'Error');
    record.cause = failure?.cause ?? (error instanceof Error ? error.message : String(error));
  }
}

/** Binds each Task state to its handler, adding an issue for each state without one. */
function bindTasks(
  plans: ReadonlyMap<string, TaskPlan>,
  options: LocalExecutorOptions,
  issues: string[],
): Map<string, BoundTask> {
  const invoked = new Map<string, TemplateLambdaFunction>();
  for (const plan of plans.values()) {
    if (plan.lambdaFunction !== undefined) invoked.set(plan.lambdaFunction.logicalId, plan.lambdaFunction);
  }
  const matched = matchHandlers([...invoked.values()], options.handlers);
  issues.push(...matched.issues);

  const tasks = new Map<string, BoundTask>();
  for (const [stateName, plan] of plans) {
    const fn = plan.lambdaFunction;
    const handler =
      fn === undefined ? options.taskHandlers?.[stateName] : matched.byLogicalId.get(fn.logicalId);
    if (handler !== undefined) {
      tasks.set(stateName, { plan, handler });
    } else if (fn !== undefined) {
      issues.push(
        `Task state ${stateName} invokes the Lambda function with ${describeFunction(fn)}, which no handler matches; add handlers['${expectedKey(fn)}'].`,
      );
    } else {
      issues.push(
        `Task state ${stateName} uses ${plan.resource}, which is not a Lambda invocation; add taskHandlers['${stateName}'].`,
      );
    }
  }
  return tasks;
}

function inputJsonOf(input: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(input === undefined ? {} : input);
  } catch (error) {
    throw new LocalSfnApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON.', {
      cause: error,
    });
  }
  if (text === undefined) {
    throw new LocalSfnApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON.');
  }
  return text;
}

/** One page and the token of the next (an opaque offset). */
export function page<T>(
  items: readonly T[],
  maxResults: number,
  nextToken: string | undefined,
): { items: T[]; nextToken?: string } {
  let offset = 0;
  if (nextToken !== undefined) {
    offset = Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) throw new LocalSfnApiError('InvalidToken', 'Invalid Token.');
  }
  const size = maxResults > 0 ? maxResults : 1000;
  const end = offset + size;
  return {
    items: items.slice(offset, end),
    ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}),
  };
}

/** `includeExecutionData: false`: AWS leaves out every input and output. */
function withoutExecutionData(event: HistoryEvent): HistoryEvent {
  const copy: Record<string, unknown> = { ...event };
  for (const [key, value] of Object.entries(copy)) {
    if (key.endsWith('EventDetails') && typeof value === 'object' && value !== null) {
      const {
        input: _input,
        output: _output,
        parameters: _parameters,
        ...rest
      } = value as Record<string, unknown>;
      copy[key] = rest;
    }
  }
  return copy as unknown as HistoryEvent;
}
