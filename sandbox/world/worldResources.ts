/**
 * What `cdk deploy` creates in an account and a world (the sandbox, the workflow tests) creates
 * in the AWS emulator instead: the ledger table, the event bus, the Stytch project credentials and
 * the fingerprint key; and the managed clients, registered at Stytch and enrolled in Secrets Manager.
 */
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { StytchClient } from '#adapters/stytch/index.js';
import type { ClientKind } from '#core/model.js';
import { Secret } from '#core/secret.js';
import { ensureEventBus, ensureTable, putSecret } from './awsSetup.js';

/** A Stytch a world talks to: the emulator, or a real test project. */
export interface ExternalStytch {
  readonly url: string;
  readonly projectId: string;
  readonly projectSecret: string;
}

/** The names of a world's resources (a deployment's are the stack's outputs). */
export interface WorldResourceNames {
  readonly tableName: string;
  readonly eventBusName: string;
  /** The Stytch project credentials secret. */
  readonly credentialsSecretId: string;
  /** The secret holding the fingerprint key (in a deployment, a generated name). */
  readonly fingerprintKeySecretId: string;
}

/** The names every world uses. */
export const WORLD_RESOURCE_NAMES: WorldResourceNames = {
  tableName: 'stytch-m2m-rotator-ledger',
  eventBusName: 'stytch-m2m-rotator',
  credentialsSecretId: 'stytch/project-credentials',
  fingerprintKeySecretId: 'stytch-m2m-rotator/fingerprint-key',
};

/** The SDK clients resources are created with (straight at the emulator, not through a gateway). */
export interface WorldAwsClients {
  readonly dynamo: DynamoDBClient;
  readonly eventBridge: EventBridgeClient;
  readonly secretsManager: SecretsManagerClient;
}

/** What {@link createWorldResources} made that the world goes on to use. */
export interface WorldResources {
  /** ARN of the Stytch project credentials secret (the config's `projectCredentialsSecretArn`). */
  readonly credentialsArn: string;
  /** The fingerprint key, freshly generated (a leak scan looks for it too). */
  readonly fingerprintKey: Secret;
}

/**
 * Creates the ledger table, the event bus, the project credentials secret (for `stytch`) and a new
 * fingerprint key. Idempotent, so a sandbox can reuse a running moto run after run.
 */
export async function createWorldResources(
  aws: WorldAwsClients,
  names: WorldResourceNames,
  stytch: ExternalStytch,
): Promise<WorldResources> {
  await ensureTable(aws.dynamo, names.tableName);
  await ensureEventBus(aws.eventBridge, names.eventBusName);
  const { arn: credentialsArn } = await putSecret(
    aws.secretsManager,
    names.credentialsSecretId,
    JSON.stringify({ project_id: stytch.projectId, secret: stytch.projectSecret }),
  );
  const fingerprintKey = new Secret(randomBytes(32).toString('base64url'));
  await putSecret(aws.secretsManager, names.fingerprintKeySecretId, fingerprintKey.reveal());
  return { credentialsArn, fingerprintKey };
}

/** A client to register at Stytch. */
export interface ClientRegistration {
  readonly kind: ClientKind;
  /** The M2M client id to ask for (a Connected App's id is Stytch's choice). */
  readonly clientId: string;
  readonly clientName?: string;
  readonly scopes: readonly string[];
}

/** A client Stytch registered, with the one time it shows the secret. */
export interface RegisteredClient {
  readonly clientId: string;
  readonly clientSecret: Secret;
}

/** Registers `registration` at Stytch: an M2M client through our client, a Connected App directly. */
export async function registerClient(
  stytch: ExternalStytch,
  stytchClient: StytchClient,
  registration: ClientRegistration,
): Promise<RegisteredClient> {
  if (registration.kind === 'connected_app') return createConnectedApp(stytch);
  const created = await stytchClient.m2m.create({
    clientId: registration.clientId,
    ...(registration.clientName === undefined ? {} : { clientName: registration.clientName }),
    scopes: [...registration.scopes],
  });
  return { clientId: created.client.clientId, clientSecret: created.clientSecret };
}

/**
 * Enrols a registered client in Secrets Manager as `rotator register` does (`<prefix>/<clientId>`,
 * the credentials a consumer reads); returns the version now AWSCURRENT.
 */
export async function enrolClient(
  secretsManager: SecretsManagerClient,
  secretPrefix: string,
  stytch: ExternalStytch,
  client: RegisteredClient,
): Promise<{ readonly versionId: string }> {
  const { versionId } = await putSecret(
    secretsManager,
    `${secretPrefix}/${client.clientId}`,
    JSON.stringify({
      project_id: stytch.projectId,
      client_id: client.clientId,
      client_secret: client.clientSecret.reveal(),
      token_url: `${stytch.url}/v1/public/${stytch.projectId}/oauth2/token`,
    }),
  );
  return { versionId };
}

/**
 * Creates a confidential (first-party) Connected App: they are created outside the rotator (our
 * client has no create for them) and Stytch chooses their ids.
 */
export async function createConnectedApp(stytch: ExternalStytch): Promise<RegisteredClient> {
  const response = await fetch(`${stytch.url}/v1/connected_apps/clients`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${stytch.projectId}:${stytch.projectSecret}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ client_type: 'first_party', client_name: 'sandbox connected app' }),
  });
  const body = (await response.json()) as { connected_app?: { client_id?: string; client_secret?: string } };
  const app = body.connected_app;
  if (!response.ok || app?.client_id === undefined || app.client_secret === undefined) {
    throw new Error(`creating a Connected App at Stytch failed: HTTP ${response.status}`);
  }
  return { clientId: app.client_id, clientSecret: new Secret(app.client_secret) };
}
