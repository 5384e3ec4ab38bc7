import { type JWTPayload, type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from 'jose';
import {
  InsufficientScopeError,
  JwksUnavailableError,
  TokenExpiredError,
  TokenInvalidError,
  TokenNotYetValidError,
  TokenRevokedError,
  TokenTooOldError,
  VerifierError,
} from './errors.js';
import type { RevocationRecord } from './revocationDocument.js';
import type { RevocationList, RevocationStatus } from './revocations.js';
import { missingScopes } from './scopes.js';

/** What to do while the revocation document is stale (not read successfully for `maxStalenessMs`). */
export type StalePolicy = 'fail_closed' | 'accept_without_revocations';

/** An accepted token. */
export interface VerifiedToken {
  /** The `sub` claim: the M2M client's id. */
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  /** Every claim of the token, as signed. */
  readonly claims: JWTPayload;
}

export interface VerifyOptions {
  /** Scopes the token must grant (Stytch's rule: `read:*` grants `read:users`). */
  readonly requiredScopes?: readonly string[];
}

/** The checks a {@link Verifier} runs, resolved by `createVerifier`. */
export interface VerifierParts {
  readonly keys: JWTVerifyGetKey;
  readonly issuers: readonly string[];
  readonly audience: string;
  readonly clockSkewSeconds: number;
  readonly maxTokenAgeSeconds: number | undefined;
  readonly revocations: RevocationList;
  readonly stalePolicy: StalePolicy;
  readonly now: () => number;
}

/**
 * Verifies Stytch M2M access tokens for a resource server: signature (RS256, the project's JWKS with
 * key rollover), `typ`, `iss`, `aud`, `exp`/`nbf` with a skew, an optional maximum age, revocation
 * records, and required scopes. A token is never logged nor put in an error.
 */
export class Verifier {
  readonly #parts: VerifierParts;

  public constructor(parts: VerifierParts) {
    this.#parts = parts;
  }

  /**
   * Verifies a token, in this order: signature and claims, age, the revocation document's freshness
   * (policy), revocation, scopes.
   * @throws {VerifierError} one of its subclasses, by reason
   */
  public async verify(token: string, options: VerifyOptions = {}): Promise<VerifiedToken> {
    const parts = this.#parts;
    const nowMs = parts.now();
    const payload = await this.#verifySignature(token, nowMs);
    const { sub, iat, exp, scope } = payload;
    if (typeof sub !== 'string' || sub === '' || typeof iat !== 'number' || typeof exp !== 'number') {
      throw new TokenInvalidError('sub, iat and exp must be present and well typed');
    }
    if (typeof scope !== 'string') throw new TokenInvalidError('the scope claim must be a string');
    // The Stytch SDKs' rule: a token issued exactly `max` seconds ago is already too old.
    if (parts.maxTokenAgeSeconds !== undefined && nowMs / 1000 - iat >= parts.maxTokenAgeSeconds) {
      throw new TokenTooOldError(parts.maxTokenAgeSeconds);
    }
    await this.#checkRevocation(sub, iat);
    const scopes = scope.split(' ').filter((s) => s !== '');
    const missing = missingScopes(scopes, options.requiredScopes ?? []);
    if (missing.length > 0) throw new InsufficientScopeError(sub, missing);
    return {
      clientId: sub,
      scopes,
      issuedAt: new Date(iat * 1000),
      expiresAt: new Date(exp * 1000),
      claims: payload,
    };
  }

  /** Reads the revocation document now (on a `Client Tokens Revoked` event, or a health check). */
  public async refreshNow(): Promise<RevocationStatus> {
    await this.#parts.revocations.refresh();
    return this.#parts.revocations.status();
  }

  /**
   * Applies the detail of a `Client Tokens Revoked` event at once, without waiting for the next read.
   * @throws {RevocationsDocumentError} reason `malformed` when the detail is not a revocation record
   */
  public applyEvent(detail: unknown): RevocationRecord {
    return this.#parts.revocations.applyEvent(detail);
  }

  public status(): RevocationStatus {
    return this.#parts.revocations.status();
  }

  /** Stops the document's polling timer (it does not keep the process alive either way). */
  public close(): void {
    this.#parts.revocations.close();
  }

  async #verifySignature(token: string, nowMs: number): Promise<JWTPayload> {
    if (typeof token !== 'string') throw new TokenInvalidError('the token is not a string');
    try {
      const { payload } = await jwtVerify(token, this.#keys, {
        algorithms: ['RS256'],
        typ: 'JWT',
        audience: this.#parts.audience,
        issuer: [...this.#parts.issuers],
        requiredClaims: ['sub', 'iat', 'exp'],
        clockTolerance: this.#parts.clockSkewSeconds,
        currentDate: new Date(nowMs),
      });
      return payload;
    } catch (error) {
      throw toVerifierError(error);
    }
  }

  /** The JWKS lookup, telling "no such key" (the token's fault) from "no key set" (ours: answer 503). */
  readonly #keys: JWTVerifyGetKey = async (header, input) => {
    try {
      return await this.#parts.keys(header, input);
    } catch (error) {
      if (
        error instanceof joseErrors.JWKSNoMatchingKey ||
        error instanceof joseErrors.JWKSMultipleMatchingKeys
      ) {
        throw error;
      }
      throw new JwksUnavailableError({ cause: error });
    }
  };

  async #checkRevocation(clientId: string, iat: number): Promise<void> {
    const revocations = this.#parts.revocations;
    await revocations.firstRead();
    if (revocations.isStale() && this.#parts.stalePolicy === 'fail_closed') throw revocations.staleError();
    // Under accept_without_revocations a stale list is still applied: it refuses what it knows of.
    const cutoff = revocations.cutoffFor(clientId);
    if (cutoff !== undefined && iat * 1000 < cutoff) throw new TokenRevokedError(clientId, new Date(cutoff));
  }
}

/** Maps a jose failure to the verifier's errors; messages name claims and codes, never values. */
function toVerifierError(error: unknown): VerifierError {
  if (error instanceof VerifierError) return error;
  if (error instanceof joseErrors.JWTExpired) return new TokenExpiredError({ cause: error });
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new TokenNotYetValidError({ cause: error });
    return new TokenInvalidError(`the "${error.claim}" check failed (${error.reason})`, { cause: error });
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new TokenInvalidError('the signature does not verify', { cause: error });
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return new TokenInvalidError('no key of the JWKS matches the token', { cause: error });
  }
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return new TokenInvalidError('the token names no kid and several keys match', { cause: error });
  }
  const code = error instanceof joseErrors.JOSEError ? error.code : 'not a JWS';
  return new TokenInvalidError(`the token could not be parsed (${code})`, { cause: error });
}
