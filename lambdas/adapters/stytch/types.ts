import type { Secret } from '#core/secret.js';

/**
 * The two logging methods the client uses. A Powertools `Logger` satisfies it. Lines carry route
 * templates, attempt numbers, status codes and error names only: never bodies, headers or secrets.
 */
export interface StytchLogger {
  debug(message: string, attributes?: Readonly<Record<string, unknown>>): void;
  warn(message: string, attributes?: Readonly<Record<string, unknown>>): void;
}

/** Retry policy of the transport. */
export interface StytchRetryOptions {
  /**
   * Attempts per call, the first included.
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs·2^(n-1))).
   * @default 200
   */
  readonly baseDelayMs?: number;
  /**
   * Cap of one backoff delay.
   * @default 5_000
   */
  readonly maxDelayMs?: number;
  /**
   * Longest `Retry-After` we wait for; a longer one fails the call at once with the 429 error.
   * @default 30_000
   */
  readonly maxRetryAfterMs?: number;
}

/** Where the project's signing keys are published. */
export type JwksPath = 'consumer' | 'b2b';

/** JWKS cache settings for {@link StytchClientOptions.jwks}. */
export interface StytchJwksOptions {
  /**
   * Keys older than this are fetched again before use.
   * @default 600_000 (10 minutes)
   */
  readonly cacheMaxAgeMs?: number;
  /**
   * Minimum time between two fetches caused by an unknown `kid`, so forged tokens cannot make
   * us hammer Stytch.
   * @default 30_000
   */
  readonly refetchCooldownMs?: number;
  /**
   * `consumer` → `/v1/sessions/jwks/{project_id}`, `b2b` → `/v1/b2b/sessions/jwks/{project_id}`.
   * @default 'consumer'
   */
  readonly path?: JwksPath;
}

/** The `fetch` the client sends with: Node's global one, or any function of its shape. */
export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>;

/** Options of {@link StytchClient}. */
export interface StytchClientOptions {
  /** The Stytch project id (`project-test-…` or `project-live-…`). */
  readonly projectId: string;
  /** The project secret, used for Basic auth on management routes only. */
  readonly secret: Secret | string;
  /**
   * API origin; http is allowed (the emulator). A trailing `/` is trimmed.
   * @default - https://api.stytch.com for `project-live-…` ids, else https://test.stytch.com
   */
  readonly baseUrl?: string;
  /**
   * Time limit of one attempt, headers and body together.
   * @default 10_000
   */
  readonly timeoutMs?: number;
  /**
   * Retry policy.
   * @default - 3 attempts, 200 ms base, 5 s cap, 30 s Retry-After cap
   */
  readonly retry?: StytchRetryOptions;
  /**
   * Sends each HTTP request (e.g. undici's `fetch` over a dispatcher of the caller's, which the
   * client never closes).
   * @default globalThis.fetch - Node's own, pooling keep-alive connections process-wide
   */
  readonly fetch?: FetchFunction;
  /**
   * Receives retry and JWKS refresh lines.
   * @default - no logging
   */
  readonly logger?: StytchLogger;
  /**
   * Jitter source, [0, 1).
   * @default Math.random
   */
  readonly random?: () => number;
  /**
   * Waits between attempts.
   * @default - a setTimeout-based sleep
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Clock in epoch milliseconds (JWKS cache age, token `expiresAt`, JWT time checks).
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * JWKS cache settings.
   * @default - 10 min max age, 30 s refetch cooldown, consumer path
   */
  readonly jwks?: StytchJwksOptions;
  /**
   * Awaited before every attempt of a rate-limited call (management routes and the token
   * endpoint; not the JWKS): a shared rate budget waits here, or throws to hold the call back.
   * What it throws ends the call unchanged, before anything is sent.
   * @default - no budget: every attempt is sent at once
   */
  readonly beforeRequest?: BeforeRequest;
}

/** The rate-limit groups Stytch counts separately: the management routes and the token endpoint. */
export type StytchRateGroup = 'management' | 'token';

/** See {@link StytchClientOptions.beforeRequest}. */
export type BeforeRequest = (call: {
  readonly route: string;
  readonly group: StytchRateGroup;
}) => Promise<void>;

/** Status of an M2M client. */
export const M2MClientStatus = { active: 'active', inactive: 'inactive' } as const;
/** One of {@link M2MClientStatus}'s values. */
export type M2MClientStatus = (typeof M2MClientStatus)[keyof typeof M2MClientStatus];

/** Free-form metadata Stytch stores with a client. */
export type TrustedMetadata = Readonly<Record<string, unknown>>;

/** An M2M client, without any secret. */
export interface M2MClient {
  readonly clientId: string;
  readonly clientName: string;
  readonly clientDescription: string;
  readonly status: M2MClientStatus;
  readonly scopes: readonly string[];
  readonly clientSecretLastFour: string;
  /** Null when no rotation is pending. */
  readonly nextClientSecretLastFour: string | null;
  readonly trustedMetadata: TrustedMetadata;
}

/** Parameters of `m2m.create`. */
export interface CreateM2MClientParams {
  readonly scopes: readonly string[];
  /** @default - generated by Stytch */
  readonly clientId?: string;
  /** @default - generated by Stytch */
  readonly clientSecret?: Secret | string;
  readonly clientName?: string;
  readonly clientDescription?: string;
  readonly trustedMetadata?: TrustedMetadata;
}

/** The result of `m2m.create`: the only time the secret is visible. */
export interface CreatedM2MClient {
  readonly client: M2MClient;
  readonly clientSecret: Secret;
}

/** Fields of `m2m.update`; omitted fields are left unchanged. */
export interface UpdateM2MClientParams {
  readonly clientName?: string;
  readonly clientDescription?: string;
  readonly status?: M2MClientStatus;
  readonly scopes?: readonly string[];
  /** Merged at the top level by Stytch; a `null` value deletes that key. */
  readonly trustedMetadata?: TrustedMetadata;
}

/** A filter of an M2M search. */
export interface M2MSearchOperand {
  readonly filterName: 'client_id' | 'client_name' | 'scopes';
  readonly filterValue: readonly string[];
}

/** An M2M search query. */
export interface M2MSearchQuery {
  readonly operator: 'AND' | 'OR';
  readonly operands: readonly M2MSearchOperand[];
}

/** Parameters of `m2m.search`. */
export interface SearchM2MClientsParams {
  /** @default - Stytch's default (100) */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** @default - no filtering */
  readonly query?: M2MSearchQuery;
}

/** One page of M2M clients. */
export interface M2MClientsPage {
  readonly clients: readonly M2MClient[];
  /** Null on the last page. */
  readonly nextCursor: string | null;
  /** -1 when totals are disabled for the workspace. */
  readonly total: number;
}

/** The result of `m2m.rotateStart`: the only time the next secret is visible. */
export interface StartedM2MRotation {
  readonly client: M2MClient;
  readonly nextClientSecret: Secret;
}

/** Connected App client types; the `_public` ones have no secret. */
export const ConnectedAppClientType = {
  firstParty: 'first_party',
  firstPartyPublic: 'first_party_public',
  thirdParty: 'third_party',
  thirdPartyPublic: 'third_party_public',
} as const;
/** One of {@link ConnectedAppClientType}'s values. */
export type ConnectedAppClientType = (typeof ConnectedAppClientType)[keyof typeof ConnectedAppClientType];

/**
 * A Connected App client, without any secret. Fields Stytch marks optional, or leaves out of some
 * variants, are null when absent.
 */
export interface ConnectedApp {
  readonly clientId: string;
  readonly clientName: string;
  readonly clientDescription: string;
  readonly clientType: ConnectedAppClientType;
  /** True for `*_public` client types, which have no secret. */
  readonly isPublic: boolean;
  readonly status: string | null;
  readonly fullAccessAllowed: boolean | null;
  readonly redirectUrls: readonly string[];
  readonly postLogoutRedirectUrls: readonly string[];
  readonly accessTokenExpiryMinutes: number | null;
  readonly accessTokenCustomAudience: string | null;
  readonly accessTokenTemplateContent: string | null;
  readonly bypassConsentForOfflineAccess: boolean | null;
  readonly creationMethod: string | null;
  readonly logoUrl: string | null;
  readonly clientIdMetadataUrl: string | null;
  readonly clientSecretLastFour: string | null;
  readonly nextClientSecretLastFour: string | null;
}

/** Parameters of `connectedApps.search`. */
export interface SearchConnectedAppsParams {
  readonly limit?: number;
  readonly cursor?: string;
}

/** One page of Connected Apps. */
export interface ConnectedAppsPage {
  readonly apps: readonly ConnectedApp[];
  readonly nextCursor: string | null;
  readonly total: number;
}

/** The result of `connectedApps.rotateStart`. */
export interface StartedConnectedAppRotation {
  readonly app: ConnectedApp;
  readonly nextClientSecret: Secret;
}

/** Parameters of {@link StytchClient.token}. */
export interface TokenParams {
  readonly clientId: string;
  readonly clientSecret: Secret | string;
  /** @default - every scope of the client */
  readonly scopes?: readonly string[];
}

/** An access token minted with the client-credentials grant. */
export interface AccessToken {
  readonly accessToken: Secret;
  readonly tokenType: string;
  /** Measured from when the request was sent, so it errs early rather than late. */
  readonly expiresAt: Date;
  readonly expiresIn: number;
  /** From the token's `scope` claim (decoded, not verified). */
  readonly scope: readonly string[];
}

/** Options of {@link StytchClient.verifyToken}. */
export interface VerifyTokenOptions {
  /** Each must be granted, by Stytch's `action:resource` / `action:*` rule. */
  readonly requiredScopes?: readonly string[];
  /** Reject tokens issued this long ago or earlier (0 rejects every token). */
  readonly maxTokenAgeSeconds?: number;
  /** @default 0 */
  readonly clockToleranceSeconds?: number;
}

/** The claims of a verified access token. */
export interface VerifiedToken {
  /** The `sub` claim. */
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly issuedAt: Date;
  readonly notBefore: Date;
  readonly expiresAt: Date;
  /** Every claim except aud, exp, iat, iss, jti, nbf, sub and scope. */
  readonly customClaims: Readonly<Record<string, unknown>>;
}
