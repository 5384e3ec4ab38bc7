import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoDeliveryLog } from '#adapters/aws/DynamoDeliveryLog.js';
import {
  DynamoLedger,
  EventBridgePublisher,
  SecretsManagerFingerprints,
  wrapAwsError,
} from '#adapters/aws/index.js';
import { GitHubAlerts } from '#adapters/github/GitHubAlerts.js';
import type { StepLogger } from '#core/deps.js';
import { RotatorError, toError } from '#core/errors.js';
import { EVENT_SOURCES } from '#core/events.js';
import { type GitHubWebhookDeps, handleGitHubWebhook } from '#core/githubWebhook.js';
import { Secret } from '#core/secret.js';
import { withInvocationContext } from './runtime/invocation.js';
import { lambdaLogger } from './runtime/logger.js';
import { traced } from './runtime/tracer.js';
import { type GitHubWebhookEnv, readGitHubWebhookEnv } from './runtime/webhookEnv.js';

/**
 * The GitHub secret-scanning webhook receiver behind a Lambda Function URL: turns the Function
 * URL event into the core's request (the body exactly as GitHub signed it), calls
 * {@link handleGitHubWebhook} and shapes its answer as JSON.
 */

/** What a Function URL answers; the body is always JSON. */
export type GitHubWebhookHttpResult = APIGatewayProxyStructuredResultV2 & {
  readonly statusCode: number;
  readonly headers: { readonly 'content-type': 'application/json' };
  readonly body: string;
};

/** A Function URL handler. */
export type GitHubWebhookHandler = (event: APIGatewayProxyEventV2) => Promise<GitHubWebhookHttpResult>;

/** Gives the deps of an invocation; called on every invocation, so it should cache. */
export type GitHubWebhookDepsFactory = () => GitHubWebhookDeps | Promise<GitHubWebhookDeps>;

/**
 * Webhook secret and token reads are cached this long: a container picks up an operator's new
 * value within minutes, without a Secrets Manager call per delivery.
 */
export const SECRET_CACHE_TTL_MS = 5 * 60_000;

/**
 * A handler bound to `depsFactory`: the Lambda binds it to {@link createGitHubWebhookDeps} over
 * the container's environment; the sandbox and the tests bind it to their own.
 */
export function createGitHubWebhookHandler(depsFactory: GitHubWebhookDepsFactory): GitHubWebhookHandler {
  return async (event) => {
    const deps = await depsFactory();
    const method = event.requestContext?.http?.method ?? 'POST';
    if (method !== 'POST') {
      return json(405, { result: 'method_not_allowed' });
    }
    try {
      const response = await handleGitHubWebhook(deps, {
        headers: lowerCaseHeaders(event.headers),
        rawBody: rawBodyOf(event),
      });
      return json(response.statusCode, response.body);
    } catch (thrown) {
      // The core maps every dependency failure itself; reaching here is a bug, not a delivery problem.
      const error = toError(thrown);
      deps.logger.warn('GitHub webhook handler failed unexpectedly', {
        error: error.name,
        errorMessage: error.message,
      });
      return json(500, { result: 'error' });
    }
  };
}

/** SDK clients the deps use; each defaults to one built from the standard configuration. */
export interface GitHubWebhookClients {
  readonly secretsManager?: SecretsManagerClient;
  readonly dynamoDocument?: DynamoDBDocumentClient;
  readonly eventBridge?: EventBridgeClient;
}

/** Options of {@link createGitHubWebhookDeps}. */
export interface GitHubWebhookDepsOptions {
  readonly logger: StepLogger;
  /** @default - clients built from the standard configuration (`AWS_ENDPOINT_URL` included), traced */
  readonly clients?: GitHubWebhookClients;
  /** @default SECRET_CACHE_TTL_MS */
  readonly secretCacheTtlMs?: number;
}

/**
 * The real deps: the webhook secret and the token from Secrets Manager (cached), the fingerprint
 * key through {@link SecretsManagerFingerprints}, the ledger's fingerprint index and delivery log,
 * EventBridge (envelope source `EVENT_SOURCES.githubWebhook`), and GitHub's API.
 */
export function createGitHubWebhookDeps(
  env: GitHubWebhookEnv,
  options: GitHubWebhookDepsOptions,
): GitHubWebhookDeps {
  const secretsManager = options.clients?.secretsManager ?? traced(new SecretsManagerClient({}));
  const dynamo =
    options.clients?.dynamoDocument ??
    DynamoDBDocumentClient.from(traced(new DynamoDBClient({})), {
      marshallOptions: { removeUndefinedValues: true },
    });
  const eventBridge = options.clients?.eventBridge ?? traced(new EventBridgeClient({}));
  const ttlMs = options.secretCacheTtlMs ?? SECRET_CACHE_TTL_MS;
  const webhookSecret = cachedSecret(
    () => readWebhookSecret(secretsManager, env.ROTATOR_GITHUB_WEBHOOK_SECRET_ID),
    ttlMs,
  );
  const token = cachedSecret(
    () => readGitHubToken(secretsManager, env.ROTATOR_GITHUB_TOKEN_SECRET_ID),
    ttlMs,
  );
  return {
    webhookSecret,
    alerts: new GitHubAlerts({ token, apiUrl: env.ROTATOR_GITHUB_API_URL }),
    fingerprints: new SecretsManagerFingerprints({
      client: secretsManager,
      keySecretId: env.ROTATOR_FINGERPRINT_KEY_SECRET_ID,
    }),
    index: new DynamoLedger({ client: dynamo, tableName: env.ROTATOR_TABLE_NAME }),
    // The webhook speaks as itself: IAM lets only its role use this source, and the leak rule
    // accepts it for reports by fingerprint (`detail.source` stays the audit text).
    events: new EventBridgePublisher({
      client: eventBridge,
      eventBusName: env.ROTATOR_EVENT_BUS_NAME,
      source: EVENT_SOURCES.githubWebhook,
    }),
    deliveries: new DynamoDeliveryLog({ client: dynamo, tableName: env.ROTATOR_TABLE_NAME }),
    clock: { now: () => new Date() },
    logger: options.logger,
  };
}

/** A secret in Secrets Manager the receiver needs is unreadable, empty or still a placeholder. Permanent. */
export class WebhookSecretValueError extends RotatorError {
  public readonly secretId: string;

  public constructor(secretId: string, problem: string) {
    super(`Secret ${secretId}: ${problem}`);
    this.name = 'WebhookSecretValueError';
    this.secretId = secretId;
  }
}

// The webhook secret signs deliveries: a short one is guessable, and GitHub's settings take any text.
const MIN_WEBHOOK_SECRET_LENGTH = 16;

async function readSecretString(client: SecretsManagerClient, secretId: string): Promise<string | undefined> {
  try {
    const { SecretString } = await client.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
    );
    return SecretString;
  } catch (error) {
    throw wrapAwsError(error, { service: 'SecretsManager', operation: 'GetSecretValue', resource: secretId });
  }
}

async function readWebhookSecret(client: SecretsManagerClient, secretId: string): Promise<Secret> {
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
 * The token is the SecretString itself. The CDK app creates the secret with a JSON placeholder
 * (`{"configured":false,...}`) that operators replace; it is refused here, so GitHub is not asked
 * with a random string and the log says what to do.
 */
async function readGitHubToken(client: SecretsManagerClient, secretId: string): Promise<Secret> {
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

/** Single-flight, time-bounded cache of a secret read; a failed read is not cached. */
function cachedSecret(read: () => Promise<Secret>, ttlMs: number): () => Promise<Secret> {
  let cached: { readonly value: Promise<Secret>; readonly expiresAt: number } | undefined;
  return () => {
    const now = Date.now();
    if (cached === undefined || cached.expiresAt <= now) {
      const value = read();
      const entry = { value, expiresAt: now + ttlMs };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = undefined; // a throttled read may succeed next time
      });
    }
    return cached.value;
  };
}

function lowerCaseHeaders(
  headers: APIGatewayProxyEventV2['headers'] | undefined,
): Record<string, string | undefined> {
  const lowered: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers ?? {})) lowered[name.toLowerCase()] = value;
  return lowered;
}

/** The body as GitHub sent it: the signature covers these exact bytes. */
function rawBodyOf(event: APIGatewayProxyEventV2): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

function json(statusCode: number, body: object): GitHubWebhookHttpResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

let containerDeps: GitHubWebhookDeps | undefined;

/**
 * Built on the first invocation, once per container: the environment is validated then (a broken
 * one fails that invocation loudly), and importing this module has no side effects, so the
 * sandbox can bind the same handler to its own deps.
 */
function lambdaDeps(): GitHubWebhookDeps {
  containerDeps ??= createGitHubWebhookDeps(readGitHubWebhookEnv(), { logger: lambdaLogger });
  return containerDeps;
}

/** Lambda entry point (Function URL); its log lines carry the Lambda context. */
export const handler = withInvocationContext('GitHubWebhook', createGitHubWebhookHandler(lambdaDeps));
