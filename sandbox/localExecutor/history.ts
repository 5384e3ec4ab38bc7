import type { StateMachine } from 'aws-local-stepfunctions';
import type { TaskPlan } from './localDefinition.js';
import type { HistoryEvent, HistoryEventType } from './types.js';

/** One event of aws-local-stepfunctions' `eventLogs`. */
export type LibraryEvent =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** The details part of a history event (everything but id, previousEventId, timestamp, type). */
export type HistoryEventDetails = Omit<HistoryEvent, 'id' | 'previousEventId' | 'timestamp' | 'type'>;

/** What the history needs to know about the machine and the execution. */
export interface ExecutionHistoryContext {
  readonly roleArn?: string;
  readonly stateTypes: ReadonlyMap<string, string>;
  readonly tasks: ReadonlyMap<string, TaskPlan>;
  /** The error and cause that `StopExecution` gave, for `ExecutionAborted`. */
  readonly abortDetails: () => { readonly error?: string; readonly cause?: string };
}

/**
 * One execution's history in the shape of `GetExecutionHistory`. State and execution events come
 * from aws-local-stepfunctions' `eventLogs` (converted by {@link ExecutionHistory.consume}); task
 * events (`TaskScheduled`, `TaskStarted`, `TaskSubmitted`, `TaskSucceeded`, `TaskFailed`, or the
 * `LambdaFunction*` ones for a Lambda ARN resource) come from the task binding via {@link add}.
 * `previousEventId` is simply the id before (AWS links an event to its cause, usually the same).
 */
export class ExecutionHistory {
  private readonly events: HistoryEvent[] = [];
  private closed = false;
  private failureInfo: { error: string; cause: string } | undefined;

  public constructor(private readonly context: ExecutionHistoryContext) {}

  /** Appends an event unless the execution has ended. */
  public add(type: HistoryEventType, details: HistoryEventDetails = {}, timestamp = new Date()): void {
    if (this.closed) return;
    const id = this.events.length + 1;
    this.events.push({ timestamp, type, id, previousEventId: id - 1, ...details });
  }

  /** Whether an execution-end event has been recorded. */
  public get ended(): boolean {
    return this.closed;
  }

  /** The `ExecutionFailed` event's error and cause, once recorded. */
  public get failure(): { readonly error: string; readonly cause: string } | undefined {
    return this.failureInfo;
  }

  /** The events so far (copies). */
  public list(): HistoryEvent[] {
    return structuredClone(this.events);
  }

  /**
   * Converts the library's events until the execution ends. Each event is handled synchronously, so
   * after one macrotask every event dispatched so far is recorded (the binding relies on that to
   * write task events in order).
   */
  public async consume(eventLogs: AsyncGenerator<LibraryEvent>): Promise<void> {
    for await (const event of eventLogs) this.convert(event);
  }

  private convert(event: LibraryEvent): void {
    const at = new Date(event.timestamp);
    switch (event.type) {
      case 'ExecutionStarted':
        this.add(
          'ExecutionStarted',
          {
            executionStartedEventDetails: {
              input: json(event.input),
              inputDetails: { truncated: false },
              ...(this.context.roleArn === undefined ? {} : { roleArn: this.context.roleArn }),
            },
          },
          at,
        );
        return;
      case 'StateEntered':
        this.add(
          `${event.state.type}StateEntered` as HistoryEventType,
          {
            stateEnteredEventDetails: {
              name: event.state.name,
              input: json(event.state.input),
              inputDetails: { truncated: false },
            },
          },
          at,
        );
        return;
      case 'StateExited':
        this.add(
          `${event.state.type}StateExited` as HistoryEventType,
          {
            stateExitedEventDetails: {
              name: event.state.name,
              output: json(event.state.output),
              outputDetails: { truncated: false },
            },
          },
          at,
        );
        return;
      case 'StateFailed':
        this.convertStateFailed(event.state.name, event.Error, causeText(event.Cause), at);
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const key = `mapIteration${event.type.slice('MapIteration'.length)}EventDetails` as const;
        this.add(event.type, { [key]: { name: event.parentState.name, index: event.index } }, at);
        return;
      }
      case 'ExecutionSucceeded':
        this.add(
          'ExecutionSucceeded',
          {
            executionSucceededEventDetails: {
              output: json(event.output),
              outputDetails: { truncated: false },
            },
          },
          at,
        );
        this.closed = true;
        return;
      case 'ExecutionFailed': {
        const failure = { error: event.Error, cause: causeText(event.Cause) };
        this.failureInfo = failure;
        this.add('ExecutionFailed', { executionFailedEventDetails: failure }, at);
        this.closed = true;
        return;
      }
      case 'ExecutionAborted': {
        const { error, cause } = this.context.abortDetails();
        this.add(
          'ExecutionAborted',
          {
            executionAbortedEventDetails: {
              ...(error === undefined ? {} : { error }),
              ...(cause === undefined ? {} : { cause }),
            },
          },
          at,
        );
        this.closed = true;
        return;
      }
      case 'ExecutionTimeout':
        this.add(
          'ExecutionTimedOut',
          { executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'The execution timed out.' } },
          at,
        );
        this.closed = true;
        return;
      default:
        // StateRetried / StateCaught have no AWS event (the next TaskScheduled / StateExited shows
        // them); Parallel branch events are not kept.
        return;
    }
  }

  /** A task's own failures are recorded by the binding; only the library's timeout is left to record. */
  private convertStateFailed(stateName: string, error: string, cause: string, at: Date): void {
    const plan = this.context.tasks.get(stateName);
    if (plan === undefined || error !== 'States.Timeout') return;
    if (plan.kind === 'lambdaFunction') {
      this.add('LambdaFunctionTimedOut', { lambdaFunctionTimedOutEventDetails: { error, cause } }, at);
      return;
    }
    this.add(
      'TaskTimedOut',
      {
        taskTimedOutEventDetails: {
          resourceType: plan.resourceType,
          resource: plan.resourceName,
          error,
          cause,
        },
      },
      at,
    );
  }
}

/** JSON text of a state's data (`null` for undefined, as AWS never omits it). */
export function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function causeText(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return cause === undefined ? '' : JSON.stringify(cause);
}
