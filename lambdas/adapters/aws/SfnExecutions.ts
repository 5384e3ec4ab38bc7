import type { HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { wrapAwsError } from './errors.js';
import { sfnSdk } from './sdk/sfn.js';

/** Props of {@link SfnExecutions}. */
export interface SfnExecutionsProps {
  /** Built once per run by the caller (the CLI builds one per command). */
  readonly client: SFNClient;
}

/** An execution as DescribeExecution tells it: only the fields an operator's view needs. */
export interface ExecutionDescription {
  /** `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE`; undefined when AWS says none. */
  readonly status: string | undefined;
  readonly startDate: Date | undefined;
  readonly stopDate: Date | undefined;
  /** The execution's output (JSON text) once it has succeeded. */
  readonly output: string | undefined;
  /** The error name and cause of a failed or aborted execution. */
  readonly error: string | undefined;
  readonly cause: string | undefined;
}

/** A task's or Lambda function's failure, as the history records it. */
export interface ExecutionTaskFailure {
  readonly error: string | undefined;
  readonly cause: string | undefined;
}

/** One history event: only the fields an operator's view needs (never the execution's data). */
export interface ExecutionHistoryEvent {
  readonly id: number | undefined;
  /** e.g. `TaskStateEntered`, `LambdaFunctionFailed`. */
  readonly type: string | undefined;
  readonly timestamp: Date | undefined;
  /** The state's name, on a `…StateEntered` event. */
  readonly enteredState: string | undefined;
  /** The failure, on a `LambdaFunctionFailed` or `TaskFailed` event. */
  readonly taskFailure: ExecutionTaskFailure | undefined;
}

/**
 * Reads an execution for an operator following it: DescribeExecution and GetExecutionHistory
 * (without the execution's data, which holds the workflow's input and outputs). Failures are wrapped
 * once ({@link wrapAwsError}); an execution Step Functions does not know is its
 * `ExecutionDoesNotExist` in the cause.
 */
export class SfnExecutions {
  readonly #client: SFNClient;

  public constructor(props: SfnExecutionsProps) {
    this.#client = props.client;
  }

  /** DescribeExecution. */
  public async describe(executionArn: string): Promise<ExecutionDescription> {
    const { DescribeExecutionCommand } = await sfnSdk();
    try {
      const described = await this.#client.send(new DescribeExecutionCommand({ executionArn }));
      return {
        status: described.status,
        startDate: described.startDate,
        stopDate: described.stopDate,
        output: described.output,
        error: described.error,
        cause: described.cause,
      };
    } catch (error) {
      throw wrapAwsError(error, { service: 'SFN', operation: 'DescribeExecution', resource: executionArn });
    }
  }

  /** The whole history, oldest first (every page). */
  public async history(executionArn: string): Promise<ExecutionHistoryEvent[]> {
    const events: ExecutionHistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#page(executionArn, { maxResults: 1000, nextToken });
      events.push(...(page.events ?? []).map(historyEvent));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return events;
  }

  /** The state the execution is in now: the last one it entered (among its latest 50 events). */
  public async currentState(executionArn: string): Promise<string | undefined> {
    const page = await this.#page(executionArn, { maxResults: 50, reverseOrder: true });
    return page.events?.map(historyEvent).find((event) => event.enteredState !== undefined)?.enteredState;
  }

  async #page(
    executionArn: string,
    options: { readonly maxResults: number; readonly nextToken?: string; readonly reverseOrder?: boolean },
  ): Promise<{ events?: HistoryEvent[]; nextToken?: string }> {
    const { GetExecutionHistoryCommand } = await sfnSdk();
    try {
      return await this.#client.send(
        new GetExecutionHistoryCommand({
          executionArn,
          ...(options.reverseOrder === true ? { reverseOrder: true } : {}),
          maxResults: options.maxResults,
          includeExecutionData: false,
          ...(options.nextToken === undefined ? {} : { nextToken: options.nextToken }),
        }),
      );
    } catch (error) {
      throw wrapAwsError(error, { service: 'SFN', operation: 'GetExecutionHistory', resource: executionArn });
    }
  }
}

function historyEvent(event: HistoryEvent): ExecutionHistoryEvent {
  const failure = event.lambdaFunctionFailedEventDetails ?? event.taskFailedEventDetails;
  return {
    id: event.id,
    type: event.type,
    timestamp: event.timestamp,
    enteredState: event.stateEnteredEventDetails?.name,
    taskFailure: failure === undefined ? undefined : { error: failure.error, cause: failure.cause },
  };
}
