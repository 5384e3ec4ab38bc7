import {
  createLocalJWKSet,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWTHeaderParameters,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { Secret } from '#core/secret.js';
import { StytchError, StytchTokenVerificationError } from './errors.js';
import { missingScopes } from './scopes.js';
import type { StytchLogger, VerifiedToken, VerifyTokenOptions } from './types.js';

/** What {@link TokenVerifier} needs: where keys come from and how to check claims. */
export interface TokenVerifierConfig {
  /** The expected audience. */
  readonly projectId: string;
  /** Accepted `iss` values: `stytch.com/{project_id}` and the API base URL (custom domains). */
  readonly issuers: readonly string[];
  /** Fetches the project's JWKS (unauthenticated, through the client's transport). */
  readonly fetchJwks: () => Promise<JSONWebKeySet>;
  readonly now: () => number;
  readonly cacheMaxAgeMs: number;
  readonly refetchCooldownMs: number;
  readonly logger: StytchLogger;
}

type KeyLookup = ReturnType<typeof createLocalJWKSet>;

interface CachedKeys {
  readonly lookup: KeyLookup;
  readonly fetchedAt: number;
}

// Claims Stytch defines; everything else is a custom claim (the Node SDK's list).
const STANDARD_CLAIMS = new Set(['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub', 'scope']);

/**
 * Verifies Stytch M2M access tokens locally (RS256, `typ: JWT`, audience, issuer, exp/nbf, scopes)
 * against a cached JWKS. The key set is fetched on first use and after `cacheMaxAgeMs`, and once
 * more when a token names an unknown `kid` (Stytch rotated its keys), at most once per
 * `refetchCooldownMs` so forged tokens cannot drive a fetch storm. Concurrent callers share one
 * fetch.
 */
export class TokenVerifier {
  readonly #config: TokenVerifierConfig;
  #keys: CachedKeys | null = null;
  #inflight: Promise<CachedKeys> | null = null;
  #lastFetchStartedAt = Number.NEGATIVE_INFINITY;

  public constructor(config: TokenVerifierConfig) {
    this.#config = config;
  }

  /**
   * Verifies a token and returns its claims.
   * @throws {StytchTokenVerificationError} when the token is not acceptable (permanent)
   * @throws {StytchError} when the JWKS could not be fetched (often retryable)
   */
  public async verify(
    accessToken: Secret | string,
    options: VerifyTokenOptions = {},
  ): Promise<VerifiedToken> {
    const token = Secret.from(accessToken).reveal();
    const nowMs = this.#config.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header, input) => this.#key(header, input), {
        algorithms: ['RS256'],
        typ: 'JWT',
        audience: this.#config.projectId,
        issuer: [...this.#config.issuers],
        requiredClaims: ['sub', 'iat', 'nbf', 'exp'],
        clockTolerance: options.clockToleranceSeconds ?? 0,
        currentDate: new Date(nowMs),
      }));
    } catch (error) {
      // Our own errors (a failed JWKS fetch) pass through; jose's become a reason code.
      if (error instanceof StytchError) throw error;
      throw toVerificationError(error);
    }
    return this.#checkClaims(payload, options, nowMs);
  }

  #checkClaims(payload: JWTPayload, options: VerifyTokenOptions, nowMs: number): VerifiedToken {
    const { sub, iat, nbf, exp, scope } = payload;
    if (
      typeof sub !== 'string' ||
      typeof iat !== 'number' ||
      typeof nbf !== 'number' ||
      typeof exp !== 'number'
    ) {
      throw new StytchTokenVerificationError(
        'invalid_claims',
        'sub, iat, nbf and exp must be present and well typed',
      );
    }
    if (typeof scope !== 'string') {
      throw new StytchTokenVerificationError('invalid_claims', 'the scope claim must be a string');
    }
    // Same rule as the Stytch SDKs: a token issued `max` seconds ago is already too old.
    if (options.maxTokenAgeSeconds !== undefined && nowMs / 1000 - iat >= options.maxTokenAgeSeconds) {
      throw new StytchTokenVerificationError(
        'too_old',
        `issued more than ${options.maxTokenAgeSeconds} s ago`,
      );
    }
    const scopes = scope.split(' ').filter((s) => s !== '');
    const missing = missingScopes(scopes, options.requiredScopes ?? []);
    if (missing.length > 0) {
      throw new StytchTokenVerificationError('missing_scopes', `missing scopes: ${missing.join(', ')}`);
    }
    const customClaims = Object.fromEntries(
      Object.entries(payload).filter(([name]) => !STANDARD_CLAIMS.has(name)),
    );
    return {
      clientId: sub,
      scopes,
      issuedAt: new Date(iat * 1000),
      notBefore: new Date(nbf * 1000),
      expiresAt: new Date(exp * 1000),
      customClaims,
    };
  }

  async #key(header: JWTHeaderParameters, input: FlattenedJWSInput): ReturnType<KeyLookup> {
    let keys = this.#keys;
    if (keys === null || this.#config.now() - keys.fetchedAt >= this.#config.cacheMaxAgeMs) {
      keys = await this.#refresh('expired');
    }
    try {
      return await keys.lookup(header, input);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      if (this.#config.now() - this.#lastFetchStartedAt < this.#config.refetchCooldownMs) throw error;
      this.#config.logger.debug('Unknown JWT kid; fetching the JWKS again', { kid: header.kid });
      keys = await this.#refresh('unknown_kid');
      return keys.lookup(header, input);
    }
  }

  #refresh(why: 'expired' | 'unknown_kid'): Promise<CachedKeys> {
    if (this.#inflight === null) {
      this.#lastFetchStartedAt = this.#config.now();
      this.#config.logger.debug('Fetching the Stytch JWKS', { reason: why });
      this.#inflight = this.#config
        .fetchJwks()
        .then((jwks) => {
          this.#keys = { lookup: createLocalJWKSet(jwks), fetchedAt: this.#config.now() };
          return this.#keys;
        })
        .finally(() => {
          this.#inflight = null;
        });
    }
    return this.#inflight;
  }
}

/** Maps a jose failure to a reason code; the message names claims and codes, never values. */
function toVerificationError(error: unknown): StytchTokenVerificationError {
  if (error instanceof joseErrors.JWTExpired) {
    return new StytchTokenVerificationError('expired', 'the token has expired');
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return new StytchTokenVerificationError(
      'invalid_claims',
      `the "${error.claim}" check failed (${error.reason})`,
    );
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new StytchTokenVerificationError('invalid_signature', 'the signature does not verify');
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return new StytchTokenVerificationError('unknown_kid', 'no key in the JWKS matches the token');
  }
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return new StytchTokenVerificationError('unknown_kid', 'the token has no kid and several keys match');
  }
  const code = error instanceof joseErrors.JOSEError ? error.code : 'not a JWS';
  return new StytchTokenVerificationError('malformed', `the token could not be parsed (${code})`);
}
