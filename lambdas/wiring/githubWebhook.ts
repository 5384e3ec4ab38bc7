import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { dynamoDocumentClient } from '#adapters/aws/clients/dynamoDocument.js';
import { eventBridgeClient } from '#adapters/aws/clients/eventBridge.js';
import { secretsManagerClient } from '#adapters/aws/clients/secretsManager.js';
// Each adapter from its own module, never the adapters' index (see stepDeps.ts).
import type { FunctionClients } from '#adapters/aws/clients.js';
import { DynamoDeliveryLog } from '#adapters/aws/DynamoDeliveryLog.js';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { EventBridgePublisher } from '#adapters/aws/EventBridgePublisher.js';
import { SecretsManagerFingerprints } from '#adapters/aws/SecretsManagerFingerprints.js';
import {
  cachedSecret,
  readGitHubToken,
  readWebhookSecret,
  SECRET_CACHE_TTL_MS,
} from '#adapters/aws/SecretValueReader.js';
import { GitHubAlerts } from '#adapters/github/GitHubAlerts.js';
import { withInvocationContext } from '#adapters/powertools/invocation.js';
import { lambdaLogger } from '#adapters/powertools/logger.js';
import type { StepLogger } from '#core/deps.js';
import { toError } from '#core/errors.js';
import { EVENT_SOURCES } from '#core/events.js';
import { type GitHubWebhookDeps, handleGitHubWebhook } from '#core/githubWebhook.js';
import type { Clock } from '#core/ports.js';
import { type GitHubWebhookEnv, readGitHubWebhookEnv } from './environment.js';

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
export type GitHubWebhookClients = Partial<
  Pick<FunctionClients, 'secretsManager' | 'dynamoDocument' | 'eventBridge'>
>;

/** Options of {@link createGitHubWebhookDeps}. */
export interface GitHubWebhookDepsOptions {
  readonly logger: StepLogger;
  /** @default - clients built from the standard configuration (`AWS_ENDPOINT_URL` included) */
  readonly clients?: GitHubWebhookClients;
  /** @default SECRET_CACHE_TTL_MS */
  readonly secretCacheTtlMs?: number;
  /** @default the system clock */
  readonly clock?: Clock;
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
  const secretsManager = options.clients?.secretsManager ?? secretsManagerClient();
  const dynamo = options.clients?.dynamoDocument ?? dynamoDocumentClient();
  const eventBridge = options.clients?.eventBridge ?? eventBridgeClient();
  const ttlMs = options.secretCacheTtlMs ?? SECRET_CACHE_TTL_MS;
  const tableName = env.ROTATOR_TABLE_NAME;
  return {
    webhookSecret: cachedSecret(
      () => readWebhookSecret(secretsManager, env.ROTATOR_GITHUB_WEBHOOK_SECRET_ID),
      ttlMs,
    ),
    alerts: new GitHubAlerts({
      token: cachedSecret(() => readGitHubToken(secretsManager, env.ROTATOR_GITHUB_TOKEN_SECRET_ID), ttlMs),
      apiUrl: env.ROTATOR_GITHUB_API_URL,
    }),
    fingerprints: new SecretsManagerFingerprints({
      client: secretsManager,
      keySecretId: env.ROTATOR_FINGERPRINT_KEY_SECRET_ID,
    }),
    index: new DynamoLedger({ client: dynamo, tableName }),
    // The webhook speaks as itself: IAM lets only its role use this source, and the leak rule
    // accepts it for reports by fingerprint (`detail.source` stays the audit text).
    events: new EventBridgePublisher({
      client: eventBridge,
      eventBusName: env.ROTATOR_EVENT_BUS_NAME,
      source: EVENT_SOURCES.githubWebhook,
    }),
    deliveries: new DynamoDeliveryLog({ client: dynamo, tableName }),
    clock: options.clock ?? { now: () => new Date() },
    logger: options.logger,
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

/**
 * The Lambda entry (Function URL): deps built on the first invocation, once per container, from
 * the container's environment (a broken one fails that invocation loudly; importing the handler
 * has no side effects); its log lines carry the Lambda context.
 */
export function githubWebhookLambdaHandler(): (
  event: APIGatewayProxyEventV2,
  context?: unknown,
) => Promise<GitHubWebhookHttpResult> {
  let containerDeps: GitHubWebhookDeps | undefined;
  const lambdaDeps = (): GitHubWebhookDeps => {
    containerDeps ??= createGitHubWebhookDeps(readGitHubWebhookEnv(), { logger: lambdaLogger });
    return containerDeps;
  };
  return withInvocationContext(createGitHubWebhookHandler(lambdaDeps));
}
