import { awsErrorCode } from '#adapters/aws/errors.js';
import { RotatorError } from '#core/errors.js';
import type { CliIo } from './io.js';

/** Where a CLI failure comes from: the user's input or environment, or a defect of ours. */
export type CliErrorSource = 'user' | 'internal';

/**
 * An error the CLI reports as one line. `user` errors (bad flags, unreachable endpoints, missing
 * resources) exit with 2 and print only the message; `internal` ones exit with 1 and add the stack
 * when `ROTATOR_DEBUG` is set.
 */
export class CliError extends RotatorError {
  /** A stable, machine-readable code, e.g. `usage`, `port_in_use`. */
  public readonly code: string;
  public readonly source: CliErrorSource;

  public constructor(
    message: string,
    options: ErrorOptions & { readonly code: string; readonly source?: CliErrorSource },
  ) {
    super(message, options);
    this.name = 'CliError';
    this.code = options.code;
    this.source = options.source ?? 'user';
  }
}

/** Exit codes shared by every command. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
} as const;

// Connection failures: the endpoint is wrong or down, which is the user's setup, not our defect.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);
// AWS saying a named resource does not exist: a wrong flag or variable.
const MISSING_RESOURCE_CODES = new Set([
  'ResourceNotFoundException',
  'StateMachineDoesNotExist',
  'ExecutionDoesNotExist',
]);
// The SDK found no credentials (its providers' errors), or AWS refused the ones it was given.
const NO_CREDENTIALS_CODES = new Set(['CredentialsProviderError', 'TokenProviderError']);
const BAD_CREDENTIALS_CODES = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredToken',
  'ExpiredTokenException',
  'AuthFailure',
]);
const ACCESS_DENIED_CODES = new Set(['AccessDenied', 'AccessDeniedException']);

/**
 * A user error for failures that come from the setup (no region, no or refused credentials, an
 * unreachable endpoint, a resource that does not exist), found anywhere in the cause chain;
 * undefined for anything else. Messages name the AWS error code, never the credentials.
 */
export function setupError(error: unknown, io: Pick<CliIo, 'env'>): CliError | undefined {
  if (error instanceof CliError) return undefined;
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const problem = setupProblem(current, io);
    if (problem !== undefined) {
      // The outermost message names the call and resource (our adapters say which table or secret).
      const call = problem.namesCall && error instanceof Error ? `${error.message} ` : '';
      return new CliError(`${call}${problem.message}`, {
        code: problem.code,
        cause: error,
      });
    }
    current = current.cause;
  }
  return undefined;
}

/** What one error of a cause chain says about the setup, if anything. */
function setupProblem(
  error: Error,
  io: Pick<CliIo, 'env'>,
): { code: string; message: string; namesCall?: boolean } | undefined {
  const code = awsErrorCode(error);
  const errno = (error as NodeJS.ErrnoException).code ?? '';
  if (UNREACHABLE_CODES.has(code) || UNREACHABLE_CODES.has(errno)) {
    const endpoint = io.env.AWS_ENDPOINT_URL || 'the default AWS endpoint';
    const reason = UNREACHABLE_CODES.has(code) ? code : errno;
    return {
      code: 'unreachable',
      message: `cannot reach AWS at ${endpoint} (${reason}): is it running, is AWS_ENDPOINT_URL right?`,
    };
  }
  if (/^Region is missing/i.test(error.message)) {
    return {
      code: 'missing_region',
      message: 'no AWS region: set AWS_REGION (or a region in your AWS profile)',
    };
  }
  if (NO_CREDENTIALS_CODES.has(code) || NO_CREDENTIALS_CODES.has(error.name)) {
    return {
      code: 'missing_credentials',
      message:
        'no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the SDK found none)',
    };
  }
  if (BAD_CREDENTIALS_CODES.has(code)) {
    return {
      code: 'invalid_credentials',
      message: `AWS refused the credentials (${code}): are they current, and for this account and region?`,
    };
  }
  if (ACCESS_DENIED_CODES.has(code)) {
    return {
      code: 'access_denied',
      message: `(${code}): the credentials lack a permission for this call`,
      namesCall: true,
    };
  }
  if (MISSING_RESOURCE_CODES.has(code)) {
    return {
      code: 'missing_resource',
      message: `(${code}): check the resource flags and variables`,
      namesCall: true,
    };
  }
  return undefined;
}
