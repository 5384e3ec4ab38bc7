import { CredentialsClosedError, TokenRequestError } from './errors.js';
import { scrubOutsiderText } from './outsiderText.js';
import type { HealthReporter, SecretSource, SecretVersion, Stage } from './secretSource.js';
import type { AccessToken, ClientCredentials, TokenEndpoint } from './tokenEndpoint.js';

/** A narrow logger; the library never hands it a secret or a token. */
export interface ConsumerLogger {
  warn(message: string, attributes?: Record<string, unknown>): void;
}

/** What {@link M2MCredentials} is built from; {@link createM2MCredentials} fills the AWS and HTTP parts. */
export interface M2MCredentialsParts {
  /** The managed client's secret: `<prefix>/<client_id>`, or its ARN. */
  readonly secretId: string;
  /** This service's name, as listed in the client's `expectedConsumers`. */
  readonly consumerName: string;
  readonly source: SecretSource;
  readonly tokens: TokenEndpoint;
  /** Where health reports go. @default - reports are not sent (the check still runs and switches) */
  readonly reporter?: HealthReporter;
  /**
   * A cached token is renewed this long before its `exp`.
   * @default 60
   */
  readonly tokenSkewSeconds?: number;
  /**
   * How often to look for `AWSPENDING` (and a cancelled pending version) with DescribeSecret; 0 = never
   * (then hand `Rotation Pending` events to {@link M2MCredentials.onRotatorEvent}).
   * @default 60_000
   */
  readonly pollIntervalMs?: number;
  /** @default - silent */
  readonly logger?: ConsumerLogger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The credentials in use, without the means to leak them: `clientSecret` is a redacting {@link Secret}. */
export interface CurrentCredentials extends ClientCredentials {
  readonly versionId: string;
  /** `AWSCURRENT`, or `AWSPENDING` after a pending secret proved itself. */
  readonly stage: Stage;
}

/** What checking a pending version found, and whether the report was sent. */
export interface PendingCheckResult {
  readonly rotationId: string;
  readonly pendingVersionId: string;
  readonly healthy: boolean;
  readonly detail: string;
  /** Whether `Consumer Health Reported` reached the bus. */
  readonly reported: boolean;
}

interface Active {
  readonly version: SecretVersion;
  readonly stage: Stage;
}

interface CachedToken {
  readonly token: AccessToken;
  readonly versionId: string;
}

const REPORT_ATTEMPTS = 3;
// Of a failed check's reason, what goes into the report's detail (the aggregator takes 1000).
const MAX_FAILURE_REASON = 400;

/**
 * One managed client's credentials for a service: the secret read by explicit stage and cached by
 * version, access tokens cached per scope set, single-flight reads and mints, and the consumer's half
 * of a rotation (prove the pending secret, switch to it, report health; fall back when it is
 * cancelled; when the token endpoint refuses the credentials, re-read once). See docs/consumers.md, the consumer
 * contract.
 */
export class M2MCredentials {
  readonly #parts: M2MCredentialsParts;
  readonly #now: () => number;
  readonly #skewMs: number;
  #active: Active | undefined;
  #loading: { readonly id: number; readonly promise: Promise<Active> } | undefined;
  /** Reads started so far; each read (and each switch to a proven pending version) gets the next id. */
  #loadsStarted = 0;
  /** The id of the read or switch that produced `#active`. */
  #activeId = 0;
  readonly #tokens = new Map<string, CachedToken>();
  /** Tokens of this client issued before this (epoch ms) are refused by resource servers. */
  #revokedBeforeMs = 0;
  readonly #minting = new Map<string, Promise<AccessToken>>();
  readonly #checks = new Map<string, Promise<PendingCheckResult>>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Counters for tests and benchmarks: how often the library went to Secrets Manager and Stytch. */
  public readonly stats = { secretReads: 0, stageLookups: 0, tokenRequests: 0, reports: 0 };

  public constructor(parts: M2MCredentialsParts) {
    this.#parts = parts;
    this.#now = parts.now ?? Date.now;
    this.#skewMs = (parts.tokenSkewSeconds ?? 60) * 1000;
    const pollIntervalMs = parts.pollIntervalMs ?? 60_000;
    if (pollIntervalMs > 0) {
      this.#timer = setInterval(() => this.#track(this.#sync()), pollIntervalMs);
      this.#timer.unref();
    }
  }

  /**
   * An access token for `scopes` (all the client's scopes when empty), from the cache while it has
   * more than the skew left. Concurrent callers share one secret read and one token request. On
   * a refusal of the credentials ({@link TokenRequestError.refused}: `invalid_client` and its kin, HTTP
   * 400/401) the secret is re-read and the request retried once.
   * @throws {TokenRequestError} when the token endpoint refuses twice or fails
   * @throws {SecretReadError | SecretFormatError} when the secret cannot be read
   */
  public async accessToken(scopes: readonly string[] = []): Promise<string> {
    return (await this.token(scopes)).accessToken;
  }

  /** Like {@link accessToken}, with the expiry and granted scope. */
  public async token(scopes: readonly string[] = []): Promise<AccessToken> {
    this.#assertOpen();
    const wanted = scopes.length === 0 ? scopes : [...new Set(scopes)].sort();
    const key = wanted.length === 0 ? '' : wanted.join(' ');
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.token.expiresAt - this.#skewMs > this.#now()) return cached.token;
    const inFlight = this.#minting.get(key);
    if (inFlight !== undefined) return inFlight;
    const minting = this.#mint(key, wanted).finally(() => this.#minting.delete(key));
    this.#minting.set(key, minting);
    return minting;
  }

  /** The credentials in use now (read on first use). */
  public async current(): Promise<CurrentCredentials> {
    this.#assertOpen();
    const active = await this.#activeOrLoad();
    return { ...active.version.credentials, versionId: active.version.versionId, stage: active.stage };
  }

  /**
   * Re-reads the secret now: `AWSCURRENT` (unless a pending version that proved itself is in use and
   * still pending), and checks a pending version not yet checked.
   */
  public async refresh(): Promise<void> {
    this.#assertOpen();
    await this.#sync({ forceCurrent: true });
  }

  /**
   * Hands the library an event from the rotator's bus: an EventBridge event (`detail-type`, `detail`),
   * a `{detailType, detail}` pair, or a bare `Rotation Pending` detail. `Rotation Pending` for this
   * client runs the pending check (once per version) and resolves with its result; `Rotation
   * Completed` / `Rotation Cancelled` re-read the secret. Other events and other clients are ignored.
   */
  public async onRotatorEvent(event: unknown): Promise<PendingCheckResult | undefined> {
    this.#assertOpen();
    const { detailType, detail } = readEvent(event);
    const active = await this.#activeOrLoad();
    if (detail.clientId !== undefined && detail.clientId !== active.version.credentials.clientId)
      return undefined;
    if (detailType === 'Rotation Completed' || detailType === 'Rotation Cancelled') {
      await this.#sync({ forceCurrent: true });
      return undefined;
    }
    if (detailType === 'Client Tokens Revoked') {
      this.#tokensRevoked(detail);
      return undefined;
    }
    if (detailType !== 'Rotation Pending' && detailType !== undefined) return undefined;
    const pendingVersionId =
      typeof detail.pendingVersionId === 'string' ? detail.pendingVersionId : undefined;
    if (pendingVersionId === undefined) return undefined;
    const rotationId = typeof detail.rotationId === 'string' ? detail.rotationId : pendingVersionId;
    return this.#checkPending(pendingVersionId, rotationId);
  }

  /**
   * A resource server refused `accessToken` (a 401, `token_revoked` say): it is dropped from the
   * cache, so the next {@link accessToken} mints another. Other tokens stay cached.
   */
  public tokenRefused(accessToken: string): void {
    for (const [key, cached] of this.#tokens) {
      if (cached.token.accessToken === accessToken) this.#tokens.delete(key);
    }
  }

  /**
   * `Client Tokens Revoked` for this client: resource servers now refuse its tokens issued before
   * `cutoff`, including tokens minted with the new secret while a leak rotation was pending. Drop
   * those from the cache, and mint none that would be covered.
   */
  #tokensRevoked(detail: Record<string, unknown>): void {
    const cutoff = typeof detail.cutoff === 'string' ? Date.parse(detail.cutoff) : Number.NaN;
    if (!Number.isFinite(cutoff)) return;
    this.#revokedBeforeMs = Math.max(this.#revokedBeforeMs, cutoff);
    for (const [key, cached] of this.#tokens) {
      // A token whose issue time cannot be read is dropped: one more mint is cheap, a refusal is not.
      if ((issuedAtMs(cached.token) ?? Number.NEGATIVE_INFINITY) < cutoff) this.#tokens.delete(key);
    }
  }

  /** A record covers the token just minted: its `iat` (whole seconds) is before the latest cutoff. */
  #covered(token: AccessToken): boolean {
    const issuedAt = issuedAtMs(token);
    return issuedAt !== undefined && issuedAt < this.#revokedBeforeMs;
  }

  /** Shorthand of {@link onRotatorEvent} for a `Rotation Pending` event or detail. */
  public onRotationPending(event: unknown): Promise<PendingCheckResult | undefined> {
    return this.onRotatorEvent(event);
  }

  /** Stops polling and waits for work in flight. Further calls throw {@link CredentialsClosedError}. */
  public async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    while (this.#background.size > 0 || this.#minting.size > 0 || this.#checks.size > 0) {
      await Promise.allSettled([...this.#background, ...this.#minting.values(), ...this.#checks.values()]);
      this.#checks.clear();
    }
  }

  async #mint(key: string, scopes: readonly string[]): Promise<AccessToken> {
    let active = await this.#activeOrLoad();
    const seen = this.#loadsStarted;
    let token: AccessToken;
    try {
      token = await this.#mintOnce(active.version.credentials, scopes);
    } catch (error) {
      if (!(error instanceof TokenRequestError && error.refused)) throw error;
      // The secret in use was rotated away (completed, or a pending one cancelled): re-read — a read
      // that began after this request did is shared, an older one is not — and retry once.
      active = await this.#load({ newerThan: seen });
      token = await this.#mintOnce(active.version.credentials, scopes);
    }
    if (this.#covered(token)) {
      // Minted in the second of a revocation's cutoff (it is rounded up to a whole second): a token
      // whose iat is the cutoff's second or later is not covered. Wait for it, once.
      const wait = Math.min(this.#revokedBeforeMs - this.#now() + 50, MAX_CUTOFF_WAIT_MS);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      token = await this.#mintOnce(active.version.credentials, scopes);
    }
    this.#tokens.set(key, { token, versionId: active.version.versionId });
    return token;
  }

  /** One token request; a retryable failure (429, 5xx, no answer) is tried once more after a pause. */
  async #mintOnce(credentials: ClientCredentials, scopes: readonly string[]): Promise<AccessToken> {
    try {
      this.stats.tokenRequests += 1;
      return await this.#parts.tokens.mint(credentials, scopes);
    } catch (error) {
      if (!(error instanceof TokenRequestError && error.retryable)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      this.stats.tokenRequests += 1;
      return this.#parts.tokens.mint(credentials, scopes);
    }
  }

  #activeOrLoad(): Promise<Active> {
    if (this.#active !== undefined) return Promise.resolve(this.#active);
    return this.#load();
  }

  /**
   * Reads `AWSCURRENT`, single flight. Without `newerThan`, a read in progress or the credentials in
   * use are good enough; with it, only a read (or switch) started after read number `newerThan` is.
   */
  #load(options: { newerThan?: number } = {}): Promise<Active> {
    const { newerThan } = options;
    if (this.#loading !== undefined && (newerThan === undefined || this.#loading.id > newerThan)) {
      return this.#loading.promise;
    }
    if (this.#active !== undefined && (newerThan === undefined || this.#activeId > newerThan)) {
      return Promise.resolve(this.#active);
    }
    this.#loadsStarted += 1;
    const id = this.#loadsStarted;
    const promise = (async () => {
      this.stats.secretReads += 1;
      const version = await this.#parts.source.read(this.#parts.secretId, 'AWSCURRENT');
      if (version === undefined) throw new Error('AWSCURRENT is always present');
      const active: Active = { version, stage: 'AWSCURRENT' };
      // A slower, older read must not replace what a newer one (or a switch) put in place.
      if (id > this.#activeId) {
        this.#active = active;
        this.#activeId = id;
      }
      return this.#active ?? active;
    })().finally(() => {
      if (this.#loading?.id === id) this.#loading = undefined;
    });
    this.#loading = { id, promise };
    return promise;
  }

  /** Compares the version in use with the labels: fall back after a cancel, notice a pending version. */
  async #sync(options: { forceCurrent?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.stats.stageLookups += 1;
    const stages = await this.#parts.source.stages(this.#parts.secretId);
    const labelled = (label: string): string | undefined =>
      Object.entries(stages).find(([, labels]) => labels.includes(label))?.[0];
    const currentId = labelled('AWSCURRENT');
    const pendingId = labelled('AWSPENDING');
    const active = this.#active;
    const onLivePending = active?.stage === 'AWSPENDING' && active.version.versionId === pendingId;
    const stale = active === undefined || (active.version.versionId !== currentId && !onLivePending);
    if (stale || (options.forceCurrent === true && !onLivePending)) {
      await this.#load({ newerThan: this.#loadsStarted });
    } else if (active?.stage === 'AWSPENDING' && active.version.versionId === currentId) {
      // The version we switched to was promoted: it is the current one now.
      this.#active = { version: active.version, stage: 'AWSCURRENT' };
    }
    if (pendingId !== undefined && !this.#checks.has(pendingId)) {
      // The AWSPENDING version id is the rotation id (see docs/design.md: the store's idempotency token).
      this.#track(this.#checkPending(pendingId, pendingId));
    }
  }

  /** Proves a pending version once: mint with it, verify, switch to it, report. */
  #checkPending(pendingVersionId: string, rotationId: string): Promise<PendingCheckResult> {
    const existing = this.#checks.get(pendingVersionId);
    if (existing !== undefined) return existing;
    const check = this.#runCheck(pendingVersionId, rotationId);
    this.#checks.set(pendingVersionId, check);
    return check;
  }

  async #runCheck(pendingVersionId: string, rotationId: string): Promise<PendingCheckResult> {
    const { source, secretId, tokens, consumerName } = this.#parts;
    const result = (healthy: boolean, detail: string, reported: boolean): PendingCheckResult => ({
      rotationId,
      pendingVersionId,
      healthy,
      detail,
      reported,
    });
    const seenAtStart = this.#loadsStarted;
    this.stats.secretReads += 1;
    const pending = await source.read(secretId, 'AWSPENDING');
    // Gone (cancelled before we looked) or another rotation's version: nothing to prove or report.
    if (pending === undefined) return result(false, 'no AWSPENDING version any more', false);
    if (pending.versionId !== pendingVersionId) {
      return result(false, `AWSPENDING is version ${pending.versionId}, not ${pendingVersionId}`, false);
    }
    let healthy = false;
    let detail: string;
    try {
      this.stats.tokenRequests += 1;
      const token = await tokens.mint(pending.credentials, []);
      await tokens.verify(pending.credentials, token.accessToken);
      healthy = true;
      detail = `the pending secret …${pending.credentials.clientSecret.lastFour} minted a token that verified against the JWKS`;
      // Switch only if nothing re-read the secret meanwhile (a cancel or completion noticed since).
      if (this.#activeId <= seenAtStart) {
        this.#loadsStarted += 1;
        this.#active = { version: pending, stage: 'AWSPENDING' };
        this.#activeId = this.#loadsStarted;
      }
    } catch (error) {
      // The reason may quote the token endpoint, and a TokenEndpoint passed in may not scrub what it
      // quotes: scrubbed here of the pending and the current secret, and bounded, in any case.
      const reason = scrubOutsiderText(
        describeError(error),
        [pending.credentials.clientSecret, this.#active?.version.credentials.clientSecret],
        MAX_FAILURE_REASON,
      );
      detail = `the pending secret …${pending.credentials.clientSecret.lastFour} failed: ${reason}`;
    }
    const reporter = this.#parts.reporter;
    if (reporter === undefined) return result(healthy, detail, false);
    const report = {
      clientId: pending.credentials.clientId,
      rotationId,
      pendingVersionId,
      consumer: consumerName,
      healthy,
      detail,
    };
    for (let attempt = 1; attempt <= REPORT_ATTEMPTS; attempt += 1) {
      try {
        this.stats.reports += 1;
        await reporter.report(report);
        return result(healthy, detail, true);
      } catch (error) {
        this.#parts.logger?.warn('Consumer Health Reported could not be sent', {
          secretId,
          pendingVersionId,
          attempt,
          error: error instanceof Error ? error.name : 'error',
        });
      }
    }
    return result(healthy, detail, false);
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) =>
      this.#parts.logger?.warn('Checking the secret for a rotation failed', {
        secretId: this.#parts.secretId,
        error: error instanceof Error ? error.name : 'error',
      }),
    );
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  #assertOpen(): void {
    if (this.#closed) throw new CredentialsClosedError();
  }
}

/** Our errors' messages hold outsider text only scrubbed; of anything else only the name is kept. */
function describeError(error: unknown): string {
  if (error instanceof TokenRequestError) return error.message;
  if (error instanceof Error && error.name === 'TokenVerificationError') return error.message;
  return error instanceof Error ? error.name : 'error';
}

/** The longest a mint waits for a revocation's cutoff to pass (it is at most a second ahead, plus clock skew). */
const MAX_CUTOFF_WAIT_MS = 3_000;

/** When a token was issued: its `iat` claim (read, not verified: the token is ours, minted by us). */
function issuedAtMs(token: AccessToken): number | undefined {
  const payload = token.accessToken.split('.')[1];
  if (payload !== undefined) {
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iat?: unknown };
      if (typeof claims.iat === 'number' && Number.isFinite(claims.iat)) return claims.iat * 1000;
    } catch {
      // Not a JWT: unknown.
    }
  }
  return undefined;
}

function readEvent(event: unknown): { detailType: string | undefined; detail: Record<string, unknown> } {
  if (typeof event !== 'object' || event === null) return { detailType: undefined, detail: {} };
  const record = event as Record<string, unknown>;
  const detailType =
    typeof record['detail-type'] === 'string'
      ? record['detail-type']
      : typeof record.detailType === 'string'
        ? record.detailType
        : undefined;
  const detail =
    typeof record.detail === 'object' && record.detail !== null
      ? (record.detail as Record<string, unknown>)
      : record;
  return { detailType, detail };
}
