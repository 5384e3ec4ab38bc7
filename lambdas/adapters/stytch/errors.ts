import { RotatorError } from '#core/errors.js';

/**
 * Options shared by every Stytch error. `retryable` is the base class's non-enumerable flag;
 * `cause` survives so a debugger can see the foreign error we wrapped.
 */
export interface StytchErrorOptions extends ErrorOptions {
  readonly retryable?: boolean;
}

/**
 * Base of every error the Stytch adapter throws. Catch this to handle "anything Stytch-related";
 * narrow with the subclasses. Messages and enumerable properties never carry secret values.
 */
export class StytchError extends RotatorError {
  public constructor(message: string, options: StytchErrorOptions = {}) {
    super(message, options);
    this.name = 'StytchError';
  }
}

/** Fields of an error answer from Stytch, already stripped of anything secret. */
export interface StytchApiErrorDetails {
  /** The route template, e.g. `POST /v1/m2m/clients/{client_id}/secrets/rotate/start`. */
  readonly route: string;
  readonly statusCode: number;
  /** `error_type` of a standard error, or the OAuth `error` value of a token error. */
  readonly errorType: string;
  readonly requestId: string | null;
  /** `error_message` (standard) or `error_description` (OAuth), or a summary when absent. */
  readonly errorMessage: string;
}

/**
 * Stytch answered with a non-2xx status. Retryable for 5xx (and 429, see the subclass); every
 * other 4xx is permanent.
 */
export class StytchApiError extends StytchError {
  public readonly route: string;
  public readonly statusCode: number;
  public readonly errorType: string;
  public readonly requestId: string | null;

  public constructor(details: StytchApiErrorDetails, options: StytchErrorOptions = {}) {
    super(
      `Stytch ${details.route} failed with HTTP ${details.statusCode} ${details.errorType}: ${details.errorMessage}` +
        (details.requestId === null ? '' : ` (request_id ${details.requestId})`),
      { retryable: details.statusCode >= 500, ...options },
    );
    this.name = 'StytchApiError';
    this.route = details.route;
    this.statusCode = details.statusCode;
    this.errorType = details.errorType;
    this.requestId = details.requestId;
  }
}

/**
 * Stytch throttled the call (HTTP 429). Always retryable, and marked `throttled` so a caller can
 * wait longer than for a 5xx: Stytch's limits reset at fixed boundaries and no `Retry-After` is
 * documented (stytch-api.md §12), so a quick retry may land in the same window.
 */
export class StytchRateLimitedError extends StytchApiError {
  /** How long Stytch asked us to wait (`Retry-After`), or null when it did not say. */
  public readonly retryAfterMs: number | null;
  /** Always true: the error is throttling. Non-enumerable, like `retryable`. */
  declare public readonly throttled: true;

  public constructor(details: StytchApiErrorDetails & { readonly retryAfterMs: number | null }) {
    super(details, { retryable: true });
    this.name = 'StytchRateLimitedError';
    this.retryAfterMs = details.retryAfterMs;
    Object.defineProperty(this, 'throttled', { value: true, enumerable: false });
  }
}

/**
 * A secret operation was asked of a public Connected App, which has no secret. Permanent: no
 * retry will ever succeed.
 */
export class StytchPublicClientError extends StytchApiError {
  public readonly clientId: string;

  public constructor(clientId: string, details: StytchApiErrorDetails, options: ErrorOptions = {}) {
    super(
      {
        ...details,
        errorMessage: `Connected App ${clientId} is a public client; public clients have no secret to rotate`,
      },
      { ...options, retryable: false },
    );
    this.name = 'StytchPublicClientError';
    this.clientId = clientId;
  }
}

/** Fields of a transport failure (timeout or network). */
export interface StytchTransportErrorDetails {
  readonly route: string;
  /** Attempts made, this one included. */
  readonly attempts: number;
  /**
   * True when the request may have reached Stytch (it was sent, then the connection reset or the
   * answer never came): the operation may have happened, and the caller must reconcile.
   */
  readonly outcomeUnknown: boolean;
  readonly retryable: boolean;
}

/** No complete answer within `timeoutMs` (headers and body) on the last attempt. */
export class StytchTimeoutError extends StytchError {
  public readonly route: string;
  public readonly attempts: number;
  public readonly outcomeUnknown: boolean;

  public constructor(
    details: StytchTransportErrorDetails & { readonly timeoutMs: number },
    options: ErrorOptions = {},
  ) {
    super(
      `Stytch ${details.route} timed out after ${details.timeoutMs} ms (attempt ${details.attempts})` +
        (details.outcomeUnknown ? '; the request may have reached Stytch' : ''),
      { ...options, retryable: details.retryable },
    );
    this.name = 'StytchTimeoutError';
    this.route = details.route;
    this.attempts = details.attempts;
    this.outcomeUnknown = details.outcomeUnknown;
  }
}

/** The connection failed: refused, reset, DNS failure, closed client. */
export class StytchNetworkError extends StytchError {
  public readonly route: string;
  public readonly attempts: number;
  public readonly outcomeUnknown: boolean;
  /** The system or undici error code (`ECONNREFUSED`, `UND_ERR_SOCKET`, …), when there was one. */
  public readonly code: string | null;

  public constructor(
    details: StytchTransportErrorDetails & { readonly code: string | null },
    options: ErrorOptions = {},
  ) {
    super(
      `Stytch ${details.route} failed: network error ${details.code ?? 'unknown'} (attempt ${details.attempts})` +
        (details.outcomeUnknown ? '; the request may have reached Stytch' : '; the request was not sent'),
      { ...options, retryable: details.retryable },
    );
    this.name = 'StytchNetworkError';
    this.route = details.route;
    this.attempts = details.attempts;
    this.outcomeUnknown = details.outcomeUnknown;
    this.code = details.code;
  }
}

/**
 * A 2xx answer did not have the documented shape. Permanent. `issues` hold paths and zod codes
 * only (`m2m_client.status: invalid_value`), never values, since a body may hold a secret.
 */
export class StytchResponseValidationError extends StytchError {
  public readonly route: string;
  public readonly statusCode: number;
  public readonly issues: readonly string[];

  public constructor(route: string, statusCode: number, issues: readonly string[]) {
    super(`Stytch ${route} returned an unexpected response (HTTP ${statusCode}): ${issues.join('; ')}`, {
      retryable: false,
    });
    this.name = 'StytchResponseValidationError';
    this.route = route;
    this.statusCode = statusCode;
    this.issues = issues;
  }
}

/** Why an access token was rejected. */
export const TokenVerificationReason = {
  expired: 'expired',
  invalidSignature: 'invalid_signature',
  unknownKid: 'unknown_kid',
  invalidClaims: 'invalid_claims',
  missingScopes: 'missing_scopes',
  tooOld: 'too_old',
  malformed: 'malformed',
} as const;

/** One of {@link TokenVerificationReason}'s values. */
export type TokenVerificationReason = (typeof TokenVerificationReason)[keyof typeof TokenVerificationReason];

/** An access token failed verification. Permanent; never carries the token. */
export class StytchTokenVerificationError extends StytchError {
  public readonly reason: TokenVerificationReason;

  public constructor(reason: TokenVerificationReason, detail: string) {
    super(`Access token rejected (${reason}): ${detail}`, { retryable: false });
    this.name = 'StytchTokenVerificationError';
    this.reason = reason;
  }
}

/** Invalid client options or call arguments: a programming or deployment error. Permanent. */
export class StytchConfigError extends StytchError {
  public readonly issues: readonly string[];

  public constructor(issues: readonly string[]) {
    super(`Invalid Stytch client configuration: ${issues.join('; ')}`, { retryable: false });
    this.name = 'StytchConfigError';
    this.issues = issues;
  }
}
