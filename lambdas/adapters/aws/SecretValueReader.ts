import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { RotatorError } from '#core/errors.js';
import { Secret } from '#core/secret.js';
import { wrapAwsError } from './errors.js';
import { secretsManagerSdk } from './sdk/secretsManager.js';

/*
 * The secrets the functions themselves run on, read from Secrets Manager at run time (the
 * environment holds only their ids): the Stytch project credentials, the GitHub webhook's shared
 * secret and the GitHub token. Managed client secrets go through SecretsManagerStore instead.
 */

/** The Stytch project credentials, as the Stytch client takes them. */
export interface StytchCredentials {
  readonly projectId: string;
  readonly secret: Secret;
}

const StytchCredentialsSchema = z.object({ project_id: z.string().min(1), secret: z.string().min(1) });

/** The Stytch project credentials secret could not be read or is malformed. Permanent. */
export class StytchCredentialsError extends RotatorError {
  public constructor(secretId: string, problem: string, options: ErrorOptions = {}) {
    super(`Stytch project credentials in ${secretId}: ${problem}`, options);
    this.name = 'StytchCredentialsError';
  }
}

/** A secret in Secrets Manager the webhook receiver needs is unreadable, empty or still a placeholder. Permanent. */
export class WebhookSecretValueError extends RotatorError {
  public readonly secretId: string;

  public constructor(secretId: string, problem: string) {
    super(`Secret ${secretId}: ${problem}`);
    this.name = 'WebhookSecretValueError';
    this.secretId = secretId;
  }
}

/**
 * Reads the Stytch project credentials, a JSON SecretString `{"project_id","secret"}`. Any read
 * failure is a {@link StytchCredentialsError} naming the AWS error (never the value); the
 * functions and the CLI report it as a configuration problem.
 */
export async function readStytchCredentials(
  client: SecretsManagerClient,
  secretId: string,
): Promise<StytchCredentials> {
  const { GetSecretValueCommand } = await secretsManagerSdk();
  let text: string | undefined;
  try {
    ({ SecretString: text } = await client.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
    ));
  } catch (error) {
    const name = error instanceof Error ? error.name : 'error';
    throw new StytchCredentialsError(secretId, `cannot be read (${name})`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new StytchCredentialsError(secretId, 'is not JSON {"project_id","secret"}');
  }
  const parsed = StytchCredentialsSchema.safeParse(json);
  if (!parsed.success) throw new StytchCredentialsError(secretId, 'must be JSON {"project_id","secret"}');
  return { projectId: parsed.data.project_id, secret: new Secret(parsed.data.secret) };
}

// The webhook secret signs deliveries: a short one is guessable, and GitHub's settings take any text.
const MIN_WEBHOOK_SECRET_LENGTH = 16;

/**
 * Reads the GitHub webhook's shared secret (the SecretString itself, at least 16 characters).
 * A failed call is an AwsServiceError (retryable when AWS says so); a bad value a
 * {@link WebhookSecretValueError}.
 */
export async function readWebhookSecret(client: SecretsManagerClient, secretId: string): Promise<Secret> {
  const text = await readSecretString(client, secretId);
  if (text === undefined || text.length < MIN_WEBHOOK_SECRET_LENGTH) {
    throw new WebhookSecretValueError(
      secretId,
      `the webhook secret must be a SecretString of at least ${MIN_WEBHOOK_SECRET_LENGTH} characters`,
    );
  }
  return new Secret(text);
}

/**
 * Reads the GitHub token (the SecretString itself). The CDK app creates the secret with a JSON
 * placeholder (`{"configured":false,...}`) that operators replace; it is refused here, so GitHub
 * is not asked with a random string and the log says what to do.
 */
export async function readGitHubToken(client: SecretsManagerClient, secretId: string): Promise<Secret> {
  const text = (await readSecretString(client, secretId))?.trim();
  if (text === undefined || text === '') {
    throw new WebhookSecretValueError(secretId, 'the GitHub token secret is empty');
  }
  if (text.startsWith('{')) {
    throw new WebhookSecretValueError(
      secretId,
      'the GitHub token secret still holds its placeholder: put a token that may read secret-scanning alerts in it',
    );
  }
  return new Secret(text);
}

async function readSecretString(client: SecretsManagerClient, secretId: string): Promise<string | undefined> {
  const { GetSecretValueCommand } = await secretsManagerSdk();
  try {
    const { SecretString } = await client.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
    );
    return SecretString;
  } catch (error) {
    throw wrapAwsError(error, { service: 'SecretsManager', operation: 'GetSecretValue', resource: secretId });
  }
}

/**
 * Webhook secret and token reads are cached this long: a container picks up an operator's new
 * value within minutes, without a Secrets Manager call per delivery.
 */
export const SECRET_CACHE_TTL_MS = 5 * 60_000;

/**
 * Single-flight, time-bounded cache of a secret read: concurrent callers share one call, a value
 * is kept `ttlMs`, and a failed read is not cached (a throttled read may succeed next time).
 */
export function cachedSecret(
  read: () => Promise<Secret>,
  ttlMs: number = SECRET_CACHE_TTL_MS,
  now: () => number = Date.now,
): () => Promise<Secret> {
  let cached: { readonly value: Promise<Secret>; readonly expiresAt: number } | undefined;
  return () => {
    const at = now();
    if (cached === undefined || cached.expiresAt <= at) {
      const value = read();
      const entry = { value, expiresAt: at + ttlMs };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
}
