import { RotatorError } from '#core/errors.js';

/**
 * The template given to {@link LocalExecutor.fromTemplate} cannot be run locally: every problem found
 * is listed in `issues` (and in the message), so one attempt shows them all.
 */
export class LocalExecutorTemplateError extends RotatorError {
  public readonly issues: readonly string[];

  public constructor(issues: readonly string[], options: ErrorOptions = {}) {
    super(
      `The state machine cannot be run locally (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${issues
        .map((issue) => `- ${issue}`)
        .join('\n')}`,
      options,
    );
    this.name = 'LocalExecutorTemplateError';
    this.issues = issues;
  }
}

/** The Step Functions API error codes the local executor answers with (the SDK's exception names). */
export const SFN_ERROR_CODES = [
  'ExecutionAlreadyExists',
  'ExecutionDoesNotExist',
  'InvalidArn',
  'InvalidExecutionInput',
  'InvalidName',
  'InvalidOutput',
  'InvalidToken',
  'StateMachineDoesNotExist',
  'TaskDoesNotExist',
  'TaskTimedOut',
  'ValidationException',
] as const;
export type SfnErrorCode = (typeof SFN_ERROR_CODES)[number];

/**
 * An error answer of the local Step Functions API, as AWS would give it. Unlike other project errors,
 * `name` is the AWS error code itself (`TaskDoesNotExist`, `ExecutionAlreadyExists`, …): that is what
 * an SDK v3 exception's `name` is, so code that narrows on `error.name` behaves the same against AWS,
 * against the sandbox gateway and against this class used in-process. The gateway serialises it with
 * {@link LocalSfnApiError.toJSON} (the AWS JSON protocol's `__type` + `message`) and `statusCode`.
 */
export class LocalSfnApiError extends RotatorError {
  public readonly code: SfnErrorCode;
  /** Every Step Functions API error the executor raises is a client error (HTTP 400), as on AWS. */
  public readonly statusCode = 400;

  public constructor(code: SfnErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.name = code;
    this.code = code;
  }

  /** The AWS JSON-protocol error body. */
  public toJSON(): { readonly __type: SfnErrorCode; readonly message: string } {
    return { __type: this.code, message: this.message };
  }
}

/**
 * How a task fails inside aws-local-stepfunctions: `name` is the Step Functions error name
 * (`StytchApiError`, `States.HeartbeatTimeout`, the `error` of `SendTaskFailure`) and `message` is the
 * Cause, because the library matches Retry/Catch on `name` and gives Catch `{Error: name, Cause:
 * message}`. A `final` failure (the execution was stopped) is neither retried nor caught.
 */
export class TaskFailureError extends RotatorError {
  /** Read by aws-local-stepfunctions. */
  public readonly isRetryable: boolean;
  /** Read by aws-local-stepfunctions. */
  public readonly isCatchable: boolean;

  public constructor(error: string, cause: string, options: { readonly final?: boolean } = {}) {
    super(cause);
    this.name = error;
    this.isRetryable = options.final !== true;
    this.isCatchable = options.final !== true;
  }
}
