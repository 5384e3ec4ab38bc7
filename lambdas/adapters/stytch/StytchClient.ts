import { decodeJwt, type JSONWebKeySet, type JWK } from 'jose';
import { Secret } from '#core/secret.js';
import { ConnectedApps } from './ConnectedApps.js';
import { StytchResponseValidationError } from './errors.js';
import { M2MClients } from './M2MClients.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { assertClientId } from './paging.js';
import { jwksResponse, parseResponse, tokenResponse } from './schemas.js';
import { TokenVerifier } from './TokenVerifier.js';
import { Transport } from './transport.js';
import type {
  AccessToken,
  StytchClientOptions,
  TokenParams,
  VerifiedToken,
  VerifyTokenOptions,
} from './types.js';

const TOKEN_ROUTE = 'POST /v1/public/{project_id}/oauth2/token';
const JWKS_ROUTES = {
  consumer: { route: 'GET /v1/sessions/jwks/{project_id}', prefix: '/v1/sessions/jwks/' },
  b2b: { route: 'GET /v1/b2b/sessions/jwks/{project_id}', prefix: '/v1/b2b/sessions/jwks/' },
} as const;

/**
 * The Stytch API client: M2M client management and rotation, Connected App secret rotation, the
 * client-credentials token endpoint and local access-token verification. Build one per Lambda
 * container (its requests reuse the process's keep-alive connections) and {@link close} it when done.
 *
 * Every failure is a typed {@link StytchError} whose `retryable` and `outcomeUnknown` tell the
 * workflow what to do; no error, property or log line carries a secret.
 *
 * @example
 * const stytch = new StytchClient({ projectId, secret });
 * const { nextClientSecret } = await stytch.m2m.rotateStart(clientId);
 * const token = await stytch.token({ clientId, clientSecret: nextClientSecret });
 * await stytch.verifyToken(token.accessToken, { requiredScopes: ['read:users'] });
 */
export class StytchClient {
  /** M2M client management and secret rotation. */
  public readonly m2m: M2MClients;
  /** Connected App reads and confidential-client secret rotation. */
  public readonly connectedApps: ConnectedApps;
  /** The resolved API base URL (no trailing slash). */
  public readonly baseUrl: string;
  /** The project this client acts for. */
  public readonly projectId: string;

  readonly #options: ResolvedOptions;
  readonly #transport: Transport;
  readonly #verifier: TokenVerifier;

  /** @throws {StytchConfigError} listing every invalid option */
  public constructor(options: StytchClientOptions) {
    this.#options = resolveOptions(options);
    const { projectId, baseUrl, jwks, now, logger } = this.#options;
    this.projectId = projectId;
    this.baseUrl = baseUrl;
    this.#transport = new Transport(this.#options);
    this.m2m = new M2MClients(this.#transport);
    this.connectedApps = new ConnectedApps(this.#transport);
    this.#verifier = new TokenVerifier({
      projectId,
      issuers: [`stytch.com/${projectId}`, baseUrl],
      fetchJwks: () => this.#fetchJwks(),
      now,
      cacheMaxAgeMs: jwks.cacheMaxAgeMs,
      refetchCooldownMs: jwks.refetchCooldownMs,
      logger,
    });
  }

  /**
   * Mints an access token with the client-credentials grant. The project credentials are never
   * sent here: only the M2M client's own id and secret, in a form body.
   * @example
   * const { accessToken, expiresAt } = await stytch.token({ clientId, clientSecret });
   */
  public async token(params: TokenParams): Promise<AccessToken> {
    assertClientId(params.clientId);
    const clientSecret = Secret.from(params.clientSecret);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: params.clientId,
      client_secret: clientSecret.reveal(),
    });
    if (params.scopes !== undefined && params.scopes.length > 0) {
      form.set('scope', params.scopes.join(' '));
    }
    // Taken before sending, so expiresAt errs early by the round trip rather than late.
    const startedAt = this.#options.now();
    const response = await this.#transport.send({
      method: 'POST',
      route: TOKEN_ROUTE,
      path: `/v1/public/${encodeURIComponent(this.projectId)}/oauth2/token`,
      auth: 'none',
      // Minting a second token is harmless; the first simply goes unused.
      idempotent: true,
      body: { form },
      secrets: [clientSecret],
    });
    const parsed = parseResponse(tokenResponse, response, TOKEN_ROUTE);
    return {
      ...parsed,
      expiresAt: new Date(startedAt + parsed.expiresIn * 1000),
      scope: tokenScopes(parsed.accessToken, response.statusCode),
    };
  }

  /**
   * Verifies an access token against the project's JWKS and returns its claims.
   * @throws {StytchTokenVerificationError} with a `reason` when the token is not acceptable
   * @example
   * const { clientId, scopes } = await stytch.verifyToken(bearer, { requiredScopes: ['write:users'] });
   */
  public verifyToken(accessToken: Secret | string, options: VerifyTokenOptions = {}): Promise<VerifiedToken> {
    return this.#verifier.verify(accessToken, options);
  }

  /** Ends the client: later calls fail (not retryable). Connections are Node's fetch's to manage. */
  public close(): Promise<void> {
    return this.#transport.close();
  }

  async #fetchJwks(): Promise<JSONWebKeySet> {
    const { route, prefix } = JWKS_ROUTES[this.#options.jwks.path];
    const response = await this.#transport.send({
      method: 'GET',
      route,
      path: `${prefix}${encodeURIComponent(this.projectId)}`,
      // The SDK verifiers fetch keys without credentials; so do we, keeping the secret off this path.
      auth: 'none',
      idempotent: true,
    });
    const { keys } = parseResponse(jwksResponse, response, route);
    // zod checked each key is an object with a string `kty`; jose validates the rest on import.
    return { keys: keys as JWK[] };
  }
}

/** The `scope` claim of a token we just received, decoded without verification. */
function tokenScopes(accessToken: Secret, statusCode: number): string[] {
  let scope: unknown;
  try {
    ({ scope } = decodeJwt(accessToken.reveal()));
  } catch {
    throw new StytchResponseValidationError(TOKEN_ROUTE, statusCode, ['access_token: malformed']);
  }
  if (scope === undefined) return [];
  if (typeof scope !== 'string') {
    throw new StytchResponseValidationError(TOKEN_ROUTE, statusCode, ['access_token.scope: invalid_type']);
  }
  return scope.split(' ').filter((s) => s !== '');
}
