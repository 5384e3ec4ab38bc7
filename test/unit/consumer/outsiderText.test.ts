import { describe, expect, it } from 'vitest';
import {
  type AccessToken,
  type ClientCredentials,
  M2MCredentials,
  type SecretSource,
  type Stage,
  type TokenEndpoint,
  TokenRequestError,
} from '#consumer/index.js';
import { MAX_OUTSIDER_TEXT, scrubOutsiderText } from '#consumer/outsiderText.js';
import { Secret } from '#core/secret.js';

const CURRENT = 'secret-test-current+/=~0000000001';
const PENDING = 'secret-test-pending-0000000002';

describe('Function: scrubOutsiderText', () => {
  it('removes the secrets as sent and form- or URL-encoded', () => {
    // Prepare
    const form = new URLSearchParams({ client_id: 'c', client_secret: CURRENT }).toString();
    const text = `raw ${CURRENT} form ${form} uri ${encodeURIComponent(CURRENT)} other ${PENDING}`;

    // Act
    const scrubbed = scrubOutsiderText(text, [new Secret(CURRENT), new Secret(PENDING)], 1000);

    // Assess
    expect(scrubbed).toBe(
      'raw [redacted] form client_id=c&client_secret=[redacted] uri [redacted] other [redacted]',
    );
  });

  it('turns control and format characters into spaces, collapses whitespace and trims', () => {
    // Act
    const scrubbed = scrubOutsiderText(
      '  bad\u0000\r\n\u001b[31mred\u001b[0m\u2028line\u202eevil\t<b>tag</b>  ',
      [],
    );

    // Assess
    expect(scrubbed).toBe('bad [31mred [0m line evil b tag /b');
  });

  it('bounds the length, marking the cut', () => {
    // Act
    const scrubbed = scrubOutsiderText('a'.repeat(5000), []);

    // Assess
    expect(scrubbed).toHaveLength(MAX_OUTSIDER_TEXT);
    expect(scrubbed.endsWith('…')).toBe(true);
  });

  it('does not let the clean-up put a secret back together', () => {
    // Prepare: a (test) secret with a space, echoed with a line break in its place.
    const secret = new Secret('abcd efgh');

    // Act
    const scrubbed = scrubOutsiderText('got abcd\r\nefgh', [secret]);

    // Assess
    expect(scrubbed).toBe('got [redacted]');
  });
});

/** Secrets Manager as the library sees it: one current version, re-read as a new one after a rotation. */
class RotatingSource implements SecretSource {
  public secret = CURRENT;
  public reads = 0;

  public async read(_secretId: string, _stage: Stage) {
    this.reads += 1;
    return { versionId: `v-${this.reads}`, credentials: credentials(this.secret) };
  }

  public async stages() {
    return { [`v-${this.reads}`]: ['AWSCURRENT'] };
  }
}

function credentials(secret: string): ClientCredentials {
  return {
    projectId: 'project-test-1',
    clientId: 'm2m-client-test-a',
    clientSecret: new Secret(secret),
    tokenUrl: 'http://127.0.0.1:9/v1/public/project-test-1/oauth2/token',
  };
}

/** A token endpoint that refuses every secret but `valid` with HTTP `status` and OAuth `error`. */
function refusingEndpoint(valid: () => string, status: number, error: string): TokenEndpoint {
  return {
    async mint(creds): Promise<AccessToken> {
      if (!creds.clientSecret.equals(valid())) {
        throw new TokenRequestError(`HTTP ${status} ${error}`, status, error);
      }
      return { accessToken: 'jwt-ok', expiresAt: Date.now() + 3_600_000, scope: '' };
    },
    async verify() {},
  };
}

describe('Class: M2MCredentials, refusals of the credentials', () => {
  it.each([
    [400, 'invalid_client'],
    [401, 'invalid_client'],
    [400, 'unauthorized_client'],
    [400, 'invalid_grant'],
    [401, 'access_denied'],
  ])('re-reads the secret and retries once on HTTP %i %s', async (status, error) => {
    // Prepare: the secret in use was rotated away behind the library's back.
    const source = new RotatingSource();
    const creds = new M2MCredentials({
      secretId: 'stytch/m2m/m2m-client-test-a',
      consumerName: 'billing-api',
      source,
      tokens: refusingEndpoint(() => source.secret, status, error),
      pollIntervalMs: 0,
    });
    await creds.current();
    source.secret = PENDING;

    // Act
    const token = await creds.accessToken().finally(() => creds.close());

    // Assess
    expect(token).toBe('jwt-ok');
    expect(source.reads).toBe(2);
  });

  it.each([
    [400, 'invalid_scope'],
    [403, 'invalid_client'],
  ])('does not re-read on HTTP %i %s', async (status, error) => {
    // Prepare
    const source = new RotatingSource();
    const creds = new M2MCredentials({
      secretId: 'stytch/m2m/m2m-client-test-a',
      consumerName: 'billing-api',
      source,
      tokens: refusingEndpoint(() => 'never this one', status, error),
      pollIntervalMs: 0,
    });

    // Act
    const thrown = await creds
      .accessToken()
      .catch((caught: unknown) => caught)
      .finally(() => creds.close());

    // Assess
    expect(thrown).toMatchObject({ name: 'TokenRequestError', status, errorType: error });
    expect(source.reads).toBe(1);
  });
});
