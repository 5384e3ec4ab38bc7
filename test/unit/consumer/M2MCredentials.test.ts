import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AccessToken,
  type ClientCredentials,
  CredentialsClosedError,
  type HealthReportDetail,
  M2MCredentials,
  type M2MCredentialsParts,
  type SecretSource,
  type Stage,
  type TokenEndpoint,
  TokenRequestError,
  TokenVerificationError,
} from '#consumer/index.js';
import { Secret } from '#core/secret.js';

const SECRET_ID = 'stytch/m2m/m2m-client-test-a';
const CLIENT_ID = 'm2m-client-test-a';
const CURRENT = 'secret-test-current-0000000001';
const PENDING = 'secret-test-pending-0000000002';

function credentials(secret: string): ClientCredentials {
  return {
    projectId: 'project-test-1',
    clientId: CLIENT_ID,
    clientSecret: new Secret(secret),
    tokenUrl: 'http://127.0.0.1:9/v1/public/project-test-1/oauth2/token',
  };
}

/** Secrets Manager as the library sees it: versions with labels; reads by stage only. */
class FakeSource implements SecretSource {
  public readonly versions = new Map<string, { labels: string[]; secret: string }>([
    ['v-current', { labels: ['AWSCURRENT'], secret: CURRENT }],
  ]);
  public reads: Stage[] = [];
  public describes = 0;
  /** When set, the next read answers with what it saw when called, only once this resolves. */
  public hold: Promise<void> | undefined;

  public async read(_secretId: string, stage: Stage) {
    this.reads.push(stage);
    const hold = this.hold;
    this.hold = undefined;
    let found: { versionId: string; credentials: ClientCredentials } | undefined;
    for (const [versionId, version] of this.versions) {
      if (found === undefined && version.labels.includes(stage)) {
        found = { versionId, credentials: credentials(version.secret) };
      }
    }
    await (hold ?? Promise.resolve());
    return found;
  }

  public async stages() {
    this.describes += 1;
    return Object.fromEntries([...this.versions].map(([id, version]) => [id, version.labels]));
  }

  /** A rotation starts: a pending version appears. */
  public startRotation(): void {
    this.versions.set('v-pending', { labels: ['AWSPENDING'], secret: PENDING });
  }

  public complete(): void {
    this.versions.set('v-current', { labels: ['AWSPREVIOUS'], secret: CURRENT });
    this.versions.set('v-pending', { labels: ['AWSCURRENT'], secret: PENDING });
  }

  public cancel(): void {
    this.versions.delete('v-pending');
  }
}

/** Stytch's token endpoint as the library sees it: only the valid secrets mint. */
class FakeTokens implements TokenEndpoint {
  public readonly valid = new Set([CURRENT]);
  public minted: string[] = [];
  public failVerify = false;
  public now = 1_000_000;
  /** Mint JWT-shaped tokens carrying `iat` (from `now`), advancing `now` by this many ms first. */
  public jwtMintAdvanceMs: number | undefined;

  public async mint(creds: ClientCredentials, scopes: readonly string[]): Promise<AccessToken> {
    this.minted.push(creds.clientSecret.lastFour);
    if (this.jwtMintAdvanceMs !== undefined) {
      this.now += this.jwtMintAdvanceMs;
      const claims = Buffer.from(JSON.stringify({ iat: Math.floor(this.now / 1000) })).toString('base64url');
      return {
        accessToken: `e30.${claims}.sig${this.minted.length}`,
        expiresAt: this.now + 3_600_000,
        scope: '',
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (!this.valid.has(creds.clientSecret.reveal())) {
      throw new TokenRequestError(
        `refused …${creds.clientSecret.lastFour}: HTTP 401 invalid_client`,
        401,
        'invalid_client',
      );
    }
    return {
      accessToken: `jwt-${this.minted.length}`,
      expiresAt: this.now + 3_600_000,
      scope: scopes.join(' '),
    };
  }

  public async verify(): Promise<void> {
    if (this.failVerify) throw new TokenVerificationError('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  }
}

interface World {
  source: FakeSource;
  tokens: FakeTokens;
  reports: HealthReportDetail[];
  logs: string[];
  credentials: M2MCredentials;
}

let world: World | undefined;

function makeWorld(overrides: Partial<M2MCredentialsParts> = {}): World {
  const source = new FakeSource();
  const tokens = new FakeTokens();
  const reports: HealthReportDetail[] = [];
  const logs: string[] = [];
  const creds = new M2MCredentials({
    secretId: SECRET_ID,
    consumerName: 'billing-api',
    source,
    tokens,
    reporter: { report: async (detail) => void reports.push(detail) },
    logger: { warn: (message, attributes) => logs.push(JSON.stringify({ message, ...attributes })) },
    pollIntervalMs: 0,
    now: () => tokens.now,
    ...overrides,
  });
  world = { source, tokens, reports, logs, credentials: creds };
  return world;
}

afterEach(async () => {
  await world?.credentials.close();
  world = undefined;
});

const PENDING_EVENT = {
  'detail-type': 'Rotation Pending',
  detail: { clientId: CLIENT_ID, rotationId: 'v-pending', pendingVersionId: 'v-pending' },
};

describe('Class: M2MCredentials', () => {
  it('serves 100 concurrent callers with one secret read and one token request', async () => {
    // Prepare
    const { source, tokens, credentials: creds } = makeWorld();

    // Act
    const answers = await Promise.all(Array.from({ length: 100 }, () => creds.accessToken(['read:x'])));

    // Assess
    expect(new Set(answers)).toEqual(new Set(['jwt-1']));
    expect(source.reads).toEqual(['AWSCURRENT']);
    expect(tokens.minted).toHaveLength(1);
    expect(creds.stats).toMatchObject({ secretReads: 1, tokenRequests: 1 });
  });

  it('caches a token per scope set until the skew before it expires', async () => {
    // Prepare
    const { tokens, credentials: creds } = makeWorld({ tokenSkewSeconds: 60 });

    // Act
    const first = await creds.accessToken(['b', 'a']);
    const sameSet = await creds.accessToken(['a', 'b', 'a']);
    const other = await creds.accessToken(['c']);
    tokens.now += 3_600_000 - 61_000;
    const beforeSkew = await creds.accessToken(['a', 'b']);
    tokens.now += 2_000;
    const afterSkew = await creds.accessToken(['a', 'b']);

    // Assess
    expect(sameSet).toBe(first);
    expect(other).not.toBe(first);
    expect(beforeSkew).toBe(first);
    expect(afterSkew).not.toBe(first);
    expect(tokens.minted).toHaveLength(3);
  });

  it('answers invalid_client with one re-read and one retry, and picks up the new current secret', async () => {
    // Prepare: the secret in use is rotated away behind the library's back.
    const { source, tokens, credentials: creds } = makeWorld({ tokenSkewSeconds: 86_400 });
    await creds.accessToken();
    source.startRotation();
    source.complete();
    tokens.valid.clear();
    tokens.valid.add(PENDING);

    // Act
    const token = await creds.accessToken();

    // Assess
    expect(token).toBe('jwt-3');
    expect(source.reads).toEqual(['AWSCURRENT', 'AWSCURRENT']);
    expect((await creds.current()).clientSecret.lastFour).toBe(PENDING.slice(-4));
  });

  it('does not retry with a read that began before the refusal (it may hold the old secret)', async () => {
    // Prepare: a refresh reads AWSCURRENT just before the rotation completes, and answers late.
    const { source, tokens, credentials: creds } = makeWorld({ tokenSkewSeconds: 86_400 });
    await creds.accessToken();
    let release = (): void => undefined;
    source.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slowRefresh = creds.refresh();
    await new Promise((resolve) => setTimeout(resolve, 5));
    source.startRotation();
    source.complete();
    tokens.valid.clear();
    tokens.valid.add(PENDING);

    // Act
    const token = await creds.accessToken();
    release();
    await slowRefresh;

    // Assess: the retry used a fresh read, and the late, older read did not replace it.
    expect(token).toMatch(/^jwt-/);
    expect(tokens.minted.slice(-2)).toEqual([CURRENT.slice(-4), PENDING.slice(-4)]);
    expect((await creds.current()).clientSecret.equals(PENDING)).toBe(true);
  });

  it('retries a token request once after a retryable failure', async () => {
    // Prepare
    const { tokens, credentials: creds } = makeWorld();
    const mint = tokens.mint.bind(tokens);
    let failures = 1;
    tokens.mint = async (c, scopes) => {
      if (failures-- > 0) throw new TokenRequestError('HTTP 503', 503, undefined, { retryable: true });
      return mint(c, scopes);
    };

    // Act
    const token = await creds.accessToken();

    // Assess
    expect(token).toMatch(/^jwt-/);
    expect(creds.stats.tokenRequests).toBe(2);
  });

  it('never loops on invalid_client: a second refusal is thrown as a typed error', async () => {
    // Prepare
    const { source, tokens, credentials: creds } = makeWorld();
    tokens.valid.clear();

    // Act
    const error = await creds.accessToken().catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({ name: 'TokenRequestError', status: 401, errorType: 'invalid_client' });
    expect(tokens.minted).toHaveLength(2);
    expect(source.reads).toEqual(['AWSCURRENT', 'AWSCURRENT']);
  });

  it('proves a pending secret on Rotation Pending, switches to it and reports healthy once', async () => {
    // Prepare
    const { source, tokens, reports, credentials: creds } = makeWorld({ tokenSkewSeconds: 86_400 });
    await creds.accessToken();
    source.startRotation();
    tokens.valid.add(PENDING);

    // Act
    const [result, again] = await Promise.all([
      creds.onRotatorEvent(PENDING_EVENT),
      creds.onRotatorEvent({ detailType: 'Rotation Pending', detail: PENDING_EVENT.detail }),
    ]);
    await creds.accessToken();

    // Assess
    expect(result).toMatchObject({ healthy: true, reported: true, pendingVersionId: 'v-pending' });
    expect(again).toBe(result);
    expect(reports).toEqual([
      {
        clientId: CLIENT_ID,
        rotationId: 'v-pending',
        pendingVersionId: 'v-pending',
        consumer: 'billing-api',
        healthy: true,
        detail: expect.stringContaining(`…${PENDING.slice(-4)}`),
      },
    ]);
    expect(await creds.current()).toMatchObject({ versionId: 'v-pending', stage: 'AWSPENDING' });
    expect(tokens.minted.at(-1)).toBe(PENDING.slice(-4));
  });

  it('reads the pending version by its own stage, not the cached current one', async () => {
    // Prepare
    const { source, tokens, credentials: creds } = makeWorld();
    await creds.current();
    source.startRotation();
    tokens.valid.add(PENDING);

    // Act
    await creds.onRotationPending(PENDING_EVENT.detail);

    // Assess
    expect(source.reads).toEqual(['AWSCURRENT', 'AWSPENDING']);
    expect((await creds.current()).clientSecret.equals(PENDING)).toBe(true);
  });

  it('reports unhealthy with the reason when the pending secret does not verify, and stays on current', async () => {
    // Prepare
    const { source, tokens, reports, credentials: creds } = makeWorld();
    await creds.accessToken();
    source.startRotation();
    tokens.valid.add(PENDING);
    tokens.failVerify = true;

    // Act
    const result = await creds.onRotatorEvent(PENDING_EVENT);

    // Assess
    expect(result).toMatchObject({ healthy: false, reported: true });
    expect(reports[0]?.healthy).toBe(false);
    expect(reports[0]?.detail).toContain('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    expect((await creds.current()).versionId).toBe('v-current');
  });

  it('switches back to AWSCURRENT when the pending version it uses is cancelled', async () => {
    // Prepare
    const { source, tokens, credentials: creds } = makeWorld();
    source.startRotation();
    tokens.valid.add(PENDING);
    await creds.onRotatorEvent(PENDING_EVENT);
    expect((await creds.current()).versionId).toBe('v-pending');

    // Act
    source.cancel();
    tokens.valid.delete(PENDING);
    await creds.onRotatorEvent({ 'detail-type': 'Rotation Cancelled', detail: { clientId: CLIENT_ID } });

    // Assess
    expect(await creds.current()).toMatchObject({ versionId: 'v-current', stage: 'AWSCURRENT' });
  });

  it('keeps a proven pending version on refresh while it is pending, and calls it current once promoted', async () => {
    // Prepare
    const { source, tokens, credentials: creds } = makeWorld();
    source.startRotation();
    tokens.valid.add(PENDING);
    await creds.onRotatorEvent(PENDING_EVENT);

    // Act
    await creds.refresh();
    const whilePending = await creds.current();
    source.complete();
    await creds.refresh();
    const afterComplete = await creds.current();

    // Assess
    expect(whilePending).toMatchObject({ versionId: 'v-pending', stage: 'AWSPENDING' });
    expect(afterComplete).toMatchObject({ versionId: 'v-pending', stage: 'AWSCURRENT' });
  });

  it('finds a pending rotation by polling DescribeSecret and reports for it', async () => {
    // Prepare
    const { source, tokens, reports, credentials: creds } = makeWorld({ pollIntervalMs: 5 });
    await creds.current();
    tokens.valid.add(PENDING);

    // Act
    source.startRotation();
    const deadline = Date.now() + 2000;
    while (reports.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));

    // Assess
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      rotationId: 'v-pending',
      pendingVersionId: 'v-pending',
      healthy: true,
    });
    expect(source.describes).toBeGreaterThan(0);
  });

  it('ignores events of another client and of other types', async () => {
    // Prepare
    const { source, reports, credentials: creds } = makeWorld();
    source.startRotation();

    // Act
    const other = await creds.onRotatorEvent({
      'detail-type': 'Rotation Pending',
      detail: { ...PENDING_EVENT.detail, clientId: 'm2m-client-test-b' },
    });
    const started = await creds.onRotatorEvent({
      'detail-type': 'Rotation Started',
      detail: { clientId: CLIENT_ID },
    });

    // Assess
    expect(other).toBeUndefined();
    expect(started).toBeUndefined();
    expect(reports).toEqual([]);
  });

  it('retries a report that fails, then logs without secrets', async () => {
    // Prepare
    let attempts = 0;
    const {
      source,
      tokens,
      logs,
      credentials: creds,
    } = makeWorld({
      reporter: {
        report: async () => {
          attempts += 1;
          throw new Error('PutEvents throttled');
        },
      },
    });
    source.startRotation();
    tokens.valid.add(PENDING);

    // Act
    const result = await creds.onRotatorEvent(PENDING_EVENT);

    // Assess
    expect(result).toMatchObject({ healthy: true, reported: false });
    expect(attempts).toBe(3);
    expect(logs).toHaveLength(3);
    expect(logs.join('\n')).not.toContain(PENDING);
  });

  it('puts no secret in what it returns, throws or logs', async () => {
    // Prepare
    const { source, tokens, logs, credentials: creds } = makeWorld();
    source.startRotation();
    await creds.onRotatorEvent(PENDING_EVENT); // the pending secret is not valid at Stytch: unhealthy
    tokens.valid.clear();
    const error = await creds.accessToken().catch((caught: unknown) => caught);
    const current = await creds.current();

    // Assess
    const captured = [
      JSON.stringify(current),
      inspect(current, { depth: 5 }),
      String(error),
      JSON.stringify(error),
      inspect(error, { depth: 5 }),
      logs.join('\n'),
    ].join('\n');
    expect(captured).not.toContain(CURRENT);
    expect(captured).not.toContain(PENDING);
  });

  it('refuses calls after close', async () => {
    // Prepare
    const { credentials: creds } = makeWorld();
    await creds.close();

    // Act
    const error = await creds.accessToken().catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(CredentialsClosedError);
  });

  describe('Client Tokens Revoked (resource servers refuse the client’s tokens issued before the cutoff)', () => {
    const revoked = (cutoffMs: number, clientId = CLIENT_ID) => ({
      'detail-type': 'Client Tokens Revoked',
      detail: { clientId, cutoff: new Date(cutoffMs).toISOString(), reason: 'leak_rotation' },
    });

    it('drops cached tokens issued before the cutoff, and keeps them for another client’s record', async () => {
      // Prepare
      const { tokens, credentials: creds } = makeWorld();
      tokens.jwtMintAdvanceMs = 0;
      tokens.now = 1_000_000_000;
      const cached = await creds.accessToken();

      // Act
      await creds.onRotatorEvent(revoked(tokens.now + 1_000, 'm2m-client-test-other'));
      const afterOther = await creds.accessToken();
      tokens.now += 1_000;
      await creds.onRotatorEvent(revoked(tokens.now));
      const afterOwn = await creds.accessToken();

      // Assess
      expect(afterOther).toBe(cached);
      expect(afterOwn).not.toBe(cached);
      expect(tokens.minted).toHaveLength(2);
    });

    it('does not keep a token minted in the cutoff’s second: it waits for the cutoff and mints once more', async () => {
      // Prepare: the cutoff is the next whole second; each mint takes 600 ms (of the fake clock)
      const { tokens, credentials: creds } = makeWorld();
      tokens.jwtMintAdvanceMs = 600;
      tokens.now = 1_000_000_000;
      await creds.onRotatorEvent(revoked(1_000_001_000));

      // Act
      const token = await creds.accessToken();

      // Assess: the first mint's iat is 1,000,000 s (covered); the second's 1,000,001 s
      expect(tokens.minted).toHaveLength(2);
      expect(token).toMatch(/sig2$/);
      expect(await creds.accessToken()).toBe(token);
    });

    it('forgets a token a resource server refused, and only that one', async () => {
      // Prepare
      const { tokens, credentials: creds } = makeWorld();
      const refused = await creds.accessToken(['a']);
      const other = await creds.accessToken(['b']);

      // Act
      creds.tokenRefused(refused);

      // Assess
      expect(await creds.accessToken(['a'])).not.toBe(refused);
      expect(await creds.accessToken(['b'])).toBe(other);
      expect(tokens.minted).toHaveLength(3);
    });
  });
});
