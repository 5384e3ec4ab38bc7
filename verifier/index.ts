/**
 * The verifier for resource servers: accepts a Stytch M2M access token only when Stytch signed it,
 * it is for this project, current, grants the required scopes, and its client has no revocation
 * record covering it (docs/token-revocation.md). Installed as `@stytch-m2m-rotator/verifier`
 * (packages/verifier); `stytch-m2m-rotator/verifier` names the same compiled library.
 *
 * ```ts
 * const verifier = createVerifier({ projectId, revocations: { url: 'https://…/token-revocations.json' } });
 * const { clientId, scopes } = await verifier.verify(token, { requiredScopes: ['read:invoices'] });
 * ```
 */
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import type { VerifierError } from './errors.js';
import { type FetchDocument, httpDocumentFetcher, RevocationList } from './revocations.js';
import { type StalePolicy, Verifier } from './Verifier.js';

/** Where and how the revocation document is read; give `url` or `fetchDocument`. */
export interface RevocationOptions {
  /** An HTTP(S) URL of the document (the sandbox's, a presigned or a CDN URL), read with conditional GETs. */
  readonly url?: string;
  /** Reads the document another way (an S3 GetObject with `IfNoneMatch`, say); wins over `url`. */
  readonly fetchDocument?: FetchDocument;
  /** @default 5000 */
  readonly refreshIntervalMs?: number;
  /** After this long without a successful read, `onStale` applies. @default 60000 */
  readonly maxStalenessMs?: number;
  /**
   * `fail_closed`: every verify throws RevocationsStaleError until a read succeeds. `accept_without_revocations`:
   * tokens are accepted against the last good copy, and `onError` hears a RevocationsStaleError.
   * @default 'fail_closed'
   */
  readonly onStale?: StalePolicy;
  /** Timeout of each read through `url`. @default 5000 */
  readonly timeoutMs?: number;
}

/** Options of {@link createVerifier}. */
export interface CreateVerifierOptions {
  /** The Stytch project (`project-test-…` or `project-live-…`): the default audience, issuer and JWKS. */
  readonly projectId: string;
  /** @default `https://{test|api}.stytch.com/v1/sessions/jwks/<projectId>` (live for `project-live-` ids) */
  readonly jwksUrl?: string;
  /** Accepted `iss` values (add your custom domain's base URL). @default `stytch.com/<projectId>` */
  readonly issuer?: string | readonly string[];
  /** @default projectId */
  readonly audience?: string;
  /** Tolerance of `exp` and `nbf`. @default 30 */
  readonly clockSkewSeconds?: number;
  /** Refuse tokens issued this long ago or more (the Stytch SDKs' `max_token_age_seconds`). @default - no limit */
  readonly maxTokenAgeSeconds?: number;
  readonly revocations: RevocationOptions;
  /** Failed or refused document reads, and the start of each stale period. Never carries a token. @default - silent */
  readonly onError?: (error: VerifierError) => void;
  /** For the JWKS and the document. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** JWKS caching: an unknown `kid` refetches at most once per `cooldownMs`. @default { cooldownMs: 30000, cacheMaxAgeMs: 600000 } */
  readonly jwks?: { readonly cooldownMs?: number; readonly cacheMaxAgeMs?: number };
  /** @default Date.now */
  readonly now?: () => number;
}

/** Stytch's JWKS URL for a project, as the SDKs build it. */
export function defaultJwksUrl(projectId: string): string {
  const host = projectId.startsWith('project-live-') ? 'api.stytch.com' : 'test.stytch.com';
  return `https://${host}/v1/sessions/jwks/${encodeURIComponent(projectId)}`;
}

/**
 * A verifier; it reads the revocation document at once and then every `refreshIntervalMs`. Call
 * `close()` to stop polling (the timer does not keep a process alive).
 */
export function createVerifier(options: CreateVerifierOptions): Verifier {
  const problems = validate(options);
  if (problems.length > 0) throw new TypeError(`createVerifier: ${problems.join('; ')}`);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const revocationOptions = options.revocations;
  const fetchDocument =
    revocationOptions.fetchDocument ??
    httpDocumentFetcher(revocationOptions.url ?? '', fetchImpl, revocationOptions.timeoutMs ?? 5000);
  const revocations = new RevocationList({
    fetchDocument,
    refreshIntervalMs: revocationOptions.refreshIntervalMs ?? 5000,
    maxStalenessMs: revocationOptions.maxStalenessMs ?? 60_000,
    now,
    onError: options.onError ?? (() => undefined),
  });
  const keys: JWTVerifyGetKey = createRemoteJWKSet(
    new URL(options.jwksUrl ?? defaultJwksUrl(options.projectId)),
    {
      cooldownDuration: options.jwks?.cooldownMs ?? 30_000,
      cacheMaxAge: options.jwks?.cacheMaxAgeMs ?? 600_000,
      [customFetch]: fetchImpl,
    },
  );
  const issuer = options.issuer ?? `stytch.com/${options.projectId}`;
  const verifier = new Verifier({
    keys,
    issuers: typeof issuer === 'string' ? [issuer] : [...issuer],
    audience: options.audience ?? options.projectId,
    clockSkewSeconds: options.clockSkewSeconds ?? 30,
    maxTokenAgeSeconds: options.maxTokenAgeSeconds,
    revocations,
    stalePolicy: revocationOptions.onStale ?? 'fail_closed',
    now,
  });
  revocations.start();
  return verifier;
}

function validate(options: CreateVerifierOptions): string[] {
  const problems: string[] = [];
  if (typeof options.projectId !== 'string' || options.projectId === '')
    problems.push('projectId is required');
  const revocations = options.revocations as RevocationOptions | undefined;
  if (
    revocations === undefined ||
    (revocations.url === undefined && revocations.fetchDocument === undefined)
  ) {
    // Never silently open: a verifier that cannot see revocations must be asked for explicitly.
    problems.push('revocations.url or revocations.fetchDocument is required');
  }
  const positive = (value: number | undefined) =>
    value === undefined || (Number.isFinite(value) && value > 0);
  if (!positive(revocations?.refreshIntervalMs)) problems.push('revocations.refreshIntervalMs must be > 0');
  if (!positive(revocations?.maxStalenessMs)) problems.push('revocations.maxStalenessMs must be > 0');
  const policy = revocations?.onStale;
  if (policy !== undefined && policy !== 'fail_closed' && policy !== 'accept_without_revocations') {
    problems.push("revocations.onStale must be 'fail_closed' or 'accept_without_revocations'");
  }
  if (options.clockSkewSeconds !== undefined && !(options.clockSkewSeconds >= 0)) {
    problems.push('clockSkewSeconds must be >= 0');
  }
  if (options.maxTokenAgeSeconds !== undefined && !(options.maxTokenAgeSeconds >= 0)) {
    problems.push('maxTokenAgeSeconds must be >= 0');
  }
  return problems;
}

export {
  InsufficientScopeError,
  JwksUnavailableError,
  RevocationsDocumentError,
  RevocationsStaleError,
  TokenExpiredError,
  TokenInvalidError,
  TokenNotYetValidError,
  TokenRevokedError,
  TokenTooOldError,
  VerifierError,
} from './errors.js';
export { MAX_DOCUMENT_BYTES, parseRevocationDocument, type RevocationRecord } from './revocationDocument.js';
export type { FetchDocument, FetchedDocument, RevocationStatus } from './revocations.js';
export type { StalePolicy, VerifiedToken, Verifier, VerifyOptions } from './Verifier.js';
