import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** How long the naive consumer keeps the secret: one hour, i.e. for the whole benchmark. */
export const NAIVE_CACHE_SECONDS = 3600;

/** A refused or failed token request of the naive consumer (no secret in it). */
export class NaiveTokenError extends Error {
  public readonly status: number;
  public readonly errorType: string | undefined;

  public constructor(status: number, errorType: string | undefined) {
    super(`the token endpoint answered HTTP ${status}${errorType === undefined ? '' : ` ${errorType}`}`);
    this.name = 'NaiveTokenError';
    this.status = status;
    this.errorType = errorType;
  }
}

interface ManagedSecret {
  readonly client_id: string;
  readonly client_secret: string;
  readonly token_url: string;
}

/**
 * What a service writes without the consumer library: Powertools `getSecret`-style caching of the
 * secret (AWSCURRENT, the default stage) for an hour, and the client-credentials grant POSTed to the
 * `token_url` for every request, no retry. It never learns of a rotation: once the rotation completes
 * and the old secret is revoked, every request fails until the cache expires.
 */
export class Naive1hConsumer {
  readonly #provider: SecretsProvider;
  readonly #secretId: string;

  public constructor(secretsManager: SecretsManagerClient, secretId: string) {
    this.#provider = new SecretsProvider({ awsSdkV3Client: secretsManager });
    this.#secretId = secretId;
  }

  public async accessToken(): Promise<string> {
    const secret = (await this.#provider.get(this.#secretId, {
      maxAge: NAIVE_CACHE_SECONDS,
      transform: 'json',
    })) as ManagedSecret | undefined;
    if (secret === undefined) throw new Error('the secret is missing');
    let response: Response;
    try {
      response = await fetch(secret.token_url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: secret.client_id,
          client_secret: secret.client_secret,
        }),
      });
    } catch {
      throw new NaiveTokenError(0, undefined);
    }
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown };
    if (!response.ok || typeof body.access_token !== 'string') {
      throw new NaiveTokenError(response.status, typeof body.error === 'string' ? body.error : undefined);
    }
    return body.access_token;
  }
}
