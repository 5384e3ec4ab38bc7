import { RotatorError } from '#core/errors.js';
import { InconsistentStateError } from '#core/rotationErrors.js';

/**
 * Errors of the AWS adapters. Every SDK failure is wrapped once, here, with `{ cause }`; our own
 * errors pass through unchanged. Messages name services, operations, resources (secret names,
 * client ids, version ids) and AWS error codes only: never a secret value, and never the foreign
 * error's message, which is AWS's text and could echo a request field.
 */

/** Which call failed: for messages and for narrowing in logs and tests. */
export interface AwsCallContext {
  /** e.g. `SecretsManager`, `DynamoDB`, `EventBridge`, `SFN`. */
  readonly service: string;
  /** The API action, e.g. `PutSecretValue`. */
  readonly operation: string;
  /** What the call was about (a secret name, `table/clientId`), never a value. */
  readonly resource?: string;
}

/** Base of every error the AWS adapters throw. */
export class AwsAdapterError extends RotatorError {
  public constructor(message: string, options: ErrorOptions & { readonly retryable?: boolean } = {}) {
    super(message, options);
    this.name = 'AwsAdapterError';
  }
}

/**
 * An AWS API call failed. `retryable` for throttling, 5xx, network faults and timeouts; permanent
 * for validation, access denied, not found and every other client fault.
 */
export class AwsServiceError extends AwsAdapterError {
  public readonly service: string;
  public readonly operation: string;
  public readonly resource: string | null;
  /** The AWS error code (`ThrottlingException`, `ResourceNotFoundException`, …) or the JS error name. */
  public readonly errorCode: string;
  /** The HTTP status of AWS's answer; null when none came (network fault, timeout). */
  public readonly statusCode: number | null;
  public readonly requestId: string | null;

  public constructor(context: AwsCallContext, cause: unknown) {
    const errorCode = awsErrorCode(cause);
    const statusCode = awsStatusCode(cause);
    const resource = context.resource ?? null;
    super(
      `${context.service} ${context.operation}${resource === null ? '' : ` on ${resource}`} failed: ${errorCode}` +
        (statusCode === null ? '' : ` (HTTP ${statusCode})`),
      { cause, retryable: isRetryableAwsError(cause) },
    );
    this.name = 'AwsServiceError';
    this.service = context.service;
    this.operation = context.operation;
    this.resource = resource;
    this.errorCode = errorCode;
    this.statusCode = statusCode;
    this.requestId = awsRequestId(cause);
  }
}

/**
 * A stored secret's `SecretString` is not the JSON the rotator writes. Permanent. `issues` hold
 * paths and codes only (`client_secret: invalid_type`), never values.
 */
export class SecretValueFormatError extends AwsAdapterError {
  public readonly secretId: string;
  public readonly stage: string;
  public readonly issues: readonly string[];

  public constructor(secretId: string, stage: string, issues: readonly string[]) {
    super(`The ${stage} value of secret ${secretId} is not the expected JSON: ${issues.join('; ')}`);
    this.name = 'SecretValueFormatError';
    this.secretId = secretId;
    this.stage = stage;
    this.issues = issues;
  }
}

/**
 * Secrets Manager refused to store a version under an id that already holds a different value
 * (`ResourceExistsException`): the same rotation produced two different next secrets, which no
 * retry can repair. Permanent; an {@link InconsistentStateError}, so it takes the same path.
 */
export class SecretVersionConflictError extends InconsistentStateError {
  public readonly secretId: string;
  public readonly versionId: string;

  public constructor(secretId: string, versionId: string, options: ErrorOptions = {}) {
    super(`Secret ${secretId} already has a version ${versionId} with a different value`);
    this.name = 'SecretVersionConflictError';
    this.secretId = secretId;
    this.versionId = versionId;
    // InconsistentStateError takes no ErrorOptions; keep the cause the way Error itself would.
    if (options.cause !== undefined) {
      Object.defineProperty(this, 'cause', {
        value: options.cause,
        enumerable: false,
        writable: true,
        configurable: true,
      });
    }
  }
}

/** The version a step names is not a version of the secret (nothing to promote). Permanent. */
export class SecretVersionNotFoundError extends AwsAdapterError {
  public readonly secretId: string;
  public readonly versionId: string;

  public constructor(secretId: string, versionId: string) {
    super(`Secret ${secretId} has no version ${versionId}`);
    this.name = 'SecretVersionNotFoundError';
    this.secretId = secretId;
    this.versionId = versionId;
  }
}

/** A rotation record the caller expected is not in the ledger. Permanent. */
export class RotationNotFoundError extends AwsAdapterError {
  public readonly clientId: string;
  public readonly rotationId: string;

  public constructor(clientId: string, rotationId: string, options: ErrorOptions = {}) {
    super(`Rotation ${rotationId} of client ${clientId} is not in the ledger`, options);
    this.name = 'RotationNotFoundError';
    this.clientId = clientId;
    this.rotationId = rotationId;
  }
}

/** A ledger item does not have the shape the adapter writes. Permanent. */
export class LedgerItemFormatError extends AwsAdapterError {
  public readonly issues: readonly string[];

  public constructor(what: string, issues: readonly string[]) {
    super(`The ledger item ${what} is malformed: ${issues.join('; ')}`);
    this.name = 'LedgerItemFormatError';
    this.issues = issues;
  }
}

/** An event failed its detail schema; nothing was sent. Permanent (a bug in the publisher's caller). */
export class InvalidEventError extends AwsAdapterError {
  public readonly detailType: string;
  /** Paths and zod codes only, never values. */
  public readonly issues: readonly string[];

  public constructor(detailType: string, issues: readonly string[]) {
    super(`Event "${detailType}" does not match its schema: ${issues.join('; ')}`);
    this.name = 'InvalidEventError';
    this.detailType = detailType;
    this.issues = issues;
  }
}

/** One entry EventBridge did not accept. */
export interface FailedEventEntry {
  readonly index: number;
  readonly detailType: string;
  readonly errorCode: string;
}

/**
 * EventBridge accepted the call but not every entry (`FailedEntryCount > 0`). Retryable: the
 * codes are throttling and internal faults. Entries before and beside the failed ones may
 * already be delivered; consumers dedupe by content, not by event id.
 */
export class EventPublishError extends AwsAdapterError {
  public readonly failedEntries: readonly FailedEventEntry[];

  public constructor(failedEntries: readonly FailedEventEntry[]) {
    const codes = [...new Set(failedEntries.map((e) => e.errorCode))].join(', ');
    super(`EventBridge rejected ${failedEntries.length} event(s): ${codes}`, { retryable: true });
    this.name = 'EventPublishError';
    this.failedEntries = failedEntries;
  }
}

/**
 * Wraps a foreign error once: our own errors pass through unchanged, anything else becomes an
 * {@link AwsServiceError} with the foreign error as its `cause`.
 */
export function wrapAwsError(error: unknown, context: AwsCallContext): RotatorError {
  return error instanceof RotatorError ? error : new AwsServiceError(context, error);
}

// AWS error codes that mean "slow down" or "try again" in the services we call.
const RETRYABLE_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'TransactionConflictException',
  'SlowDown',
  'InternalServiceError',
  'InternalServiceErrorException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Whether trying the same AWS call again may succeed: throttling, 5xx, network faults and
 * timeouts. Validation, access denied, not found, conditional-check failures: permanent.
 */
export function isRetryableAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    readonly $retryable?: unknown;
    readonly $fault?: unknown;
    readonly $metadata?: { readonly httpStatusCode?: unknown };
  };
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  if (RETRYABLE_CODES.has(awsErrorCode(error))) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 429;
  // No status: AWS never answered. Retryable only for the network faults listed above.
  return e.$fault === 'server';
}

/** The AWS error code of an SDK error (its `name`), or a system error's `code`, or the error name. */
export function awsErrorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'UnknownError';
  const { name, code } = error as { readonly name?: unknown; readonly code?: unknown };
  // A Node system error is an `Error` named "Error" with the useful part in `code`.
  if (typeof code === 'string' && (name === undefined || name === 'Error')) return code;
  return typeof name === 'string' && name !== '' ? name : 'UnknownError';
}

function awsStatusCode(error: unknown): number | null {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : null;
}

function awsRequestId(error: unknown): string | null {
  const id = (error as { $metadata?: { requestId?: unknown } } | null)?.$metadata?.requestId;
  return typeof id === 'string' ? id : null;
}

/** zod issues as `path: code` strings, never with the offending value. */
export function issueSummaries(
  issues: readonly { readonly path: readonly PropertyKey[]; readonly code: string }[],
): string[] {
  return issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.code}`);
}
