import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { Secret } from '#core/secret.js';
import { TokenRequestError, TokenVerificationError } from './errors.js';
import { scrubOutsiderText } from './outsiderText.js';

/** A managed client's credentials as one version of its secret holds them. */
export interface ClientCredentials {
  readonly projectId: string;
  readonly clientId: string;
  readonly clientSecret: Secret;
  readonly tokenUrl: string;
}

/** An access token and when it stops working. */
export interface AccessToken {
  /** The JWT. Treat it as a secret: never log it. */
  readonly accessToken: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** The scopes granted, space-separated. */
  readonly scope: string;
}

/** How tokens are minted and checked; the default speaks to the `token_url` in the secret. */
export interface TokenEndpoint {
  mint(credentials: ClientCredentials, scopes: readonly string[]): Promise<AccessToken>;
  verify(credentials: ClientCredentials, accessToken: string): Promise<void>;
}

/** Options of {@link httpTokenEndpoint}. */
export interface HttpTokenEndpointOptions {
  /** @default 10_000 */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

// An OAuth `error` is a short code (`invalid_client`); its description is a sentence.
const OAUTH_ERROR_MAX_LENGTH = 64;
const OAUTH_DESCRIPTION_MAX_LENGTH = 200;

/** The project's JWKS URL, beside its token URL: `<origin>/v1/sessions/jwks/<project_id>`. */
export function jwksUrlFor(credentials: ClientCredentials): URL {
  const url = new URL(credentials.tokenUrl);
  const prefix = url.pathname.replace(/\/v1\/public\/.*$/, '');
  return new URL(`${prefix}/v1/sessions/jwks/${encodeURIComponent(credentials.projectId)}`, url.origin);
}

/**
 * The client-credentials grant over HTTP (a form body, as Stytch's SDKs send it) and RS256 verification
 * against the project's JWKS (cached per URL by jose, refetched on an unknown `kid`).
 */
export function httpTokenEndpoint(options: HttpTokenEndpointOptions = {}): TokenEndpoint {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  return {
    async mint(credentials, scopes) {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret.reveal(),
      });
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      let response: Response;
      try {
        response = await fetch(credentials.tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new TokenRequestError(
          `The token endpoint of client ${credentials.clientId} did not answer (${error instanceof Error ? error.name : 'error'})`,
          0,
          undefined,
          { retryable: true },
        );
      }
      let body: {
        access_token?: unknown;
        expires_in?: unknown;
        scope?: unknown;
        error?: unknown;
        error_description?: unknown;
      };
      try {
        body = (await response.json()) as typeof body;
      } catch {
        body = {};
      }
      if (!response.ok || typeof body.access_token !== 'string') {
        // The endpoint's words are an outsider's: one that echoes the request form would hand back
        // the secret we just sent. Scrubbed and bounded before they go into a message or a report.
        const outsider = (value: unknown, maxLength: number): string | undefined => {
          if (typeof value !== 'string') return undefined;
          const scrubbed = scrubOutsiderText(value, [credentials.clientSecret], maxLength);
          return scrubbed === '' ? undefined : scrubbed;
        };
        const errorType = outsider(body.error, OAUTH_ERROR_MAX_LENGTH);
        const description = outsider(body.error_description, OAUTH_DESCRIPTION_MAX_LENGTH);
        throw new TokenRequestError(
          `The token endpoint refused client ${credentials.clientId} (secret …${credentials.clientSecret.lastFour}): HTTP ${response.status}` +
            `${errorType === undefined ? '' : ` ${errorType}`}${description === undefined ? '' : `: ${description}`}`,
          response.status,
          errorType,
          { retryable: response.status === 429 || response.status >= 500 },
        );
      }
      const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 3600;
      return {
        accessToken: body.access_token,
        expiresAt: now() + expiresIn * 1000,
        scope: typeof body.scope === 'string' ? body.scope : scopes.join(' '),
      };
    },
    async verify(credentials, accessToken) {
      const url = jwksUrlFor(credentials);
      let keySet = keySets.get(url.href);
      if (keySet === undefined) {
        keySet = createRemoteJWKSet(url, { timeoutDuration: timeoutMs });
        keySets.set(url.href, keySet);
      }
      try {
        await jwtVerify(accessToken, keySet, {
          algorithms: ['RS256'],
          issuer: `stytch.com/${credentials.projectId}`,
          audience: credentials.projectId,
          currentDate: new Date(now()),
        });
      } catch (error) {
        const reason =
          error instanceof joseErrors.JOSEError ? error.code : error instanceof Error ? error.name : 'error';
        throw new TokenVerificationError(reason);
      }
    },
  };
}
