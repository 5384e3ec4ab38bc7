import type {
  ExecutionStatus,
  HistoryEventType,
  DescribeExecutionOutput as SdkDescribeExecutionOutput,
  ExecutionListItem as SdkExecutionListItem,
  HistoryEvent as SdkHistoryEvent,
} from '@aws-sdk/client-sfn';

/** What a local handler learns about the call besides its payload. */
export interface LocalHandlerContext {
  /** The placeholder name of the Lambda function (its logical id); for non-Lambda tasks, the resource. */
  readonly functionName: string;
  readonly executionArn: string;
  /** The Task state being run. */
  readonly stateName: string;
  /** Set for `.waitForTaskToken` tasks: the token that `sendTaskSuccess`/`sendTaskFailure` answer. */
  readonly taskToken?: string;
}

/**
 * A local async stand-in for one Lambda function: gets the task's Payload (a JSON copy, as Lambda would
 * deserialise it) and returns the function's result (JSON-serialised on the way back, as Lambda does).
 * A thrown error becomes a Lambda function error: Step Functions error = the error's `name`.
 */
export type LocalLambdaHandler = (payload: unknown, context: LocalHandlerContext) => Promise<unknown>;

/**
 * A local stand-in for a non-Lambda Task state (e.g. `arn:aws:states:::events:putEvents`): gets the
 * state's resolved `Parameters` and returns the service's result. A thrown error fails the task with
 * Error = the error's `name` and Cause = its message.
 */
export type LocalTaskHandler = (parameters: unknown, context: LocalHandlerContext) => Promise<unknown>;

/**
 * A local stand-in for a Distributed Map's ItemReader (e.g. `arn:aws:states:::s3:getObject` with
 * `ReaderConfig.InputType: JSON`): gets the ItemReader's `Parameters` resolved against the Map state's
 * input (`{Bucket, Key}`, a JSON copy) and returns the items (the parsed JSON array). A thrown error, or a
 * result that is not an array, fails the Map with `States.ItemReaderFailed`, as on AWS. The executor
 * applies `ReaderConfig.MaxItems`/`MaxItemsPath` to what it returns.
 */
export type LocalItemReader = (parameters: Record<string, unknown>) => Promise<readonly unknown[]>;

/** Options of {@link LocalExecutor.fromTemplate}. */
export interface LocalExecutorOptions {
  /**
   * Local handlers of the template's Lambda functions, keyed by the function's construct id. A key
   * matches a function when it equals the last segment of the function's construct path (the
   * `aws:cdk:path` metadata without its trailing `/Resource`, e.g. `.../StartRotationFunction/Resource`
   * → `StartRotationFunction`) or a `/`-separated tail of that path (`Rotator/StartRotationFunction`),
   * which tells apart functions with the same id in different scopes. For a function without path
   * metadata (synthesized with path metadata off), the key matches when the logical id minus CDK's
   * 8-character hash ends with the key's letters and digits (`StartRotationFunction1A2B3C4D`).
   * A key that matches more than one function bound to a task is reported as ambiguous.
   */
  readonly handlers: Readonly<Record<string, LocalLambdaHandler>>;
  /**
   * Handlers of Task states that do not invoke Lambda, keyed by state name.
   * @default - none: such a state is reported by `fromTemplate`
   */
  readonly taskHandlers?: Readonly<Record<string, LocalTaskHandler>>;
  /**
   * The ItemReaders of Distributed Map states, keyed by the Map state's name. A Distributed Map runs as
   * an inline Map (see README.md); its items come from this reader and stay out of the state data.
   * @default - none: a Distributed Map with an ItemReader is reported by `fromTemplate`
   */
  readonly itemReaders?: Readonly<Record<string, LocalItemReader>>;
  /** Which `AWS::StepFunctions::StateMachine` to run. @default - the template's only state machine */
  readonly stateMachineLogicalId?: string;
  /** Region of the placeholder ARNs. @default 'us-east-1' */
  readonly region?: string;
  /** Account of the placeholder ARNs. @default '123456789012' */
  readonly accountId?: string;
  /** @default - the resource's literal `StateMachineName`, else its logical id */
  readonly stateMachineName?: string;
  /**
   * Multiplies the duration of `Wait` states that use `Seconds` (e.g. 0.001 turns 60 s into 60 ms).
   * `SecondsPath`, `Timestamp` and `TimestampPath` waits are not scaled.
   * @default - waits last as long as the definition says
   */
  readonly waitTimeScale?: number;
  /**
   * Multiplies every retrier's `IntervalSeconds` (capped by `MaxDelaySeconds`). The scaled interval is
   * used for every attempt: no backoff and no jitter.
   * @default - intervals, backoff and jitter as the definition says
   */
  readonly retryIntervalScale?: number;
}

/** Parameters of {@link LocalExecutor.startExecution}. */
export interface StartExecutionParams {
  /** The execution input, as a value (not a JSON string). @default {} */
  readonly input?: unknown;
  /** 1-80 characters, none of AWS's forbidden ones. @default - a random UUID */
  readonly name?: string;
}

/** Result of {@link LocalExecutor.startExecution}. */
export interface StartExecutionResult {
  readonly executionArn: string;
  readonly startDate: Date;
}

/** Parameters of {@link LocalExecutor.listExecutions}. */
export interface ListExecutionsParams {
  /** @default - this executor's state machine; another ARN is `StateMachineDoesNotExist` */
  readonly stateMachineArn?: string;
  readonly statusFilter?: ExecutionStatus;
}

/** Parameters of {@link LocalExecutor.getExecutionHistory}. */
export interface GetExecutionHistoryParams {
  /** @default false */
  readonly reverseOrder?: boolean;
  /** @default 1000 */
  readonly maxResults?: number;
  readonly nextToken?: string;
  /** @default true */
  readonly includeExecutionData?: boolean;
}

/** Parameters of {@link LocalExecutor.stopExecution}. */
export interface StopExecutionParams {
  readonly error?: string;
  readonly cause?: string;
}

/** The SDK's `DescribeExecutionOutput` with the fields the executor always sets made non-optional. */
export type DescribeExecutionOutput = SdkDescribeExecutionOutput & {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startDate: Date;
  readonly input: string;
};

/** The SDK's `ExecutionListItem` with the fields the executor always sets made non-optional. */
export type ExecutionListItem = SdkExecutionListItem & {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startDate: Date;
};

/** The SDK's `HistoryEvent` with id, type and timestamp made non-optional. */
export type HistoryEvent = SdkHistoryEvent & {
  readonly id: number;
  readonly previousEventId: number;
  readonly type: HistoryEventType;
  readonly timestamp: Date;
};

export type { ExecutionStatus, HistoryEventType };
