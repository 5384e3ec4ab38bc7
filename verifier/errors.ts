import { RotatorError } from '#core/errors.js';

/**
 * Base of every error the verifier throws. Messages name clients, claims and reasons, never a token
 * (nor a part of one): a resource server may log them or send them back in a 401.
 */
export class VerifierError extends RotatorError {
  public constructor(message: string, options: ErrorOptions & { readonly retryable?: boolean } = {}) {
    super(message, options);
    this.name = 'VerifierError';
  }
}

/** The token is not a JWS signed by a key of the project's JWKS, or its header or claims are malformed. */
export class TokenInvalidError extends VerifierError {
  public constructor(reason: string, options: ErrorOptions = {}) {
    super(`The access token is invalid: ${reason}`, options);
    this.name = 'TokenInvalidError';
  }
}

/** `exp` is in the past, beyond the clock skew. */
export class TokenExpiredError extends VerifierError {
  public constructor(options: ErrorOptions = {}) {
    super('The access token has expired', options);
    this.name = 'TokenExpiredError';
  }
}

/** `nbf` is in the future, beyond the clock skew. */
export class TokenNotYetValidError extends VerifierError {
  public constructor(options: ErrorOptions = {}) {
    super('The access token is not valid yet', options);
    this.name = 'TokenNotYetValidError';
  }
}

/** The token was issued `maxTokenAgeSeconds` or more ago (the Stytch SDKs' `max_token_age_seconds` rule). */
export class TokenTooOldError extends VerifierError {
  public readonly maxTokenAgeSeconds: number;

  public constructor(maxTokenAgeSeconds: number) {
    super(`The access token was issued ${maxTokenAgeSeconds} s or more ago`);
    this.name = 'TokenTooOldError';
    this.maxTokenAgeSeconds = maxTokenAgeSeconds;
  }
}

/** The token does not grant every required scope (Stytch's `action:resource` rule). */
export class InsufficientScopeError extends VerifierError {
  public readonly clientId: string;
  public readonly missingScopes: readonly string[];

  public constructor(clientId: string, missingScopes: readonly string[]) {
    super(`Client ${clientId} lacks the scopes ${missingScopes.join(', ')}`);
    this.name = 'InsufficientScopeError';
    this.clientId = clientId;
    this.missingScopes = missingScopes;
  }
}

/** The token's client has a revocation record and the token was issued before its cutoff. */
export class TokenRevokedError extends VerifierError {
  public readonly clientId: string;
  public readonly cutoff: Date;

  public constructor(clientId: string, cutoff: Date) {
    super(`Tokens of client ${clientId} issued before ${cutoff.toISOString()} are revoked`);
    this.name = 'TokenRevokedError';
    this.clientId = clientId;
    this.cutoff = cutoff;
  }
}

/**
 * The revocation document has not been read successfully for longer than `maxStalenessMs` (or never),
 * and the policy is `fail_closed`: no token is accepted until a read succeeds. Retryable: the next
 * successful refresh ends it. Also what `onError` receives, loudly, under `accept_without_revocations`.
 */
export class RevocationsStaleError extends VerifierError {
  /** When the document was last read successfully; undefined when it never was. */
  public readonly lastGoodAt: Date | undefined;

  public constructor(lastGoodAt: Date | undefined, maxStalenessMs: number, options: ErrorOptions = {}) {
    super(
      lastGoodAt === undefined
        ? 'The revocation document has not been read yet'
        : `The revocation document was last read at ${lastGoodAt.toISOString()}, more than ${maxStalenessMs} ms ago`,
      { ...options, retryable: true },
    );
    this.name = 'RevocationsStaleError';
    this.lastGoodAt = lastGoodAt;
  }
}

/** A read of the revocation document failed (network, HTTP status) or it was refused (malformed, too large). */
export class RevocationsDocumentError extends VerifierError {
  /** `unreachable`, `http_status`, `too_large` or `malformed`. */
  public readonly reason: 'unreachable' | 'http_status' | 'too_large' | 'malformed';

  public constructor(reason: RevocationsDocumentError['reason'], detail: string, options: ErrorOptions = {}) {
    super(`The revocation document was not used (${reason}): ${detail}; the last good copy is kept`, {
      ...options,
      retryable: reason === 'unreachable' || reason === 'http_status',
    });
    this.name = 'RevocationsDocumentError';
    this.reason = reason;
  }
}

/** The project's JWKS could not be fetched: the token could not be checked either way (answer 503, not 401). */
export class JwksUnavailableError extends VerifierError {
  public constructor(options: ErrorOptions = {}) {
    super('The JWKS could not be fetched', { ...options, retryable: true });
    this.name = 'JwksUnavailableError';
  }
}
