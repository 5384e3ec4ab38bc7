import { isClientAuthRefusal } from '#adapters/stytch/clientRefusal.js';
import { RotatorError } from '#core/errors.js';

/** Base of every error the consumer library throws. Messages name secrets by id, version and last four only. */
export class ConsumerError extends RotatorError {
  public constructor(message: string, options: ErrorOptions & { readonly retryable?: boolean } = {}) {
    super(message, options);
    this.name = 'ConsumerError';
  }
}

/** The secret could not be read from Secrets Manager (missing, no such stage, no access, unreachable). */
export class SecretReadError extends ConsumerError {
  public readonly secretId: string;
  public readonly stage: string;

  public constructor(
    secretId: string,
    stage: string,
    options: ErrorOptions & { readonly retryable?: boolean } = {},
  ) {
    const cause = options.cause instanceof Error ? `: ${options.cause.name}` : '';
    super(`Could not read ${stage} of secret ${secretId}${cause}`, options);
    this.name = 'SecretReadError';
    this.secretId = secretId;
    this.stage = stage;
  }
}

/** The secret's JSON is not `{"project_id","client_id","client_secret","token_url"}`. */
export class SecretFormatError extends ConsumerError {
  public readonly secretId: string;

  public constructor(secretId: string, problem: string) {
    super(`Secret ${secretId} is not a managed client's secret: ${problem}`);
    this.name = 'SecretFormatError';
    this.secretId = secretId;
  }
}

/** The token endpoint refused or failed a client-credentials request. */
export class TokenRequestError extends ConsumerError {
  /** HTTP status, or 0 when no answer came (timeout, connection reset). */
  public readonly status: number;
  /** The OAuth `error` of the answer (`invalid_client`, `invalid_scope`, …), when there was one. */
  public readonly errorType: string | undefined;

  public constructor(
    message: string,
    status: number,
    errorType: string | undefined,
    options: ErrorOptions & { readonly retryable?: boolean } = {},
  ) {
    super(message, options);
    this.name = 'TokenRequestError';
    this.status = status;
    this.errorType = errorType;
  }

  /** Whether the token endpoint answered with exactly the OAuth error `invalid_client`. */
  public get invalidClient(): boolean {
    return this.errorType === 'invalid_client';
  }

  /**
   * Whether the token endpoint refused the client's credentials (not, or no longer, valid): HTTP
   * 400 or 401 with `invalid_client`, `unauthorized_client`, `invalid_grant` or `access_denied`.
   * Stytch's `error` for a wrong secret is not documented (only its status, 400), so no single
   * value is relied on; the rule is the Stytch adapter's, shared.
   */
  public get refused(): boolean {
    return isClientAuthRefusal(this.status, this.errorType);
  }
}

/** A minted token did not verify against the project's JWKS (signature, issuer, audience, expiry). */
export class TokenVerificationError extends ConsumerError {
  public constructor(reason: string, options: ErrorOptions = {}) {
    super(`The access token did not verify: ${reason}`, options);
    this.name = 'TokenVerificationError';
  }
}

/** The credentials object was used after `close()`. */
export class CredentialsClosedError extends ConsumerError {
  public constructor() {
    super('These credentials are closed');
    this.name = 'CredentialsClosedError';
  }
}
