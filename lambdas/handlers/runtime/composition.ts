import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  DynamoLedger,
  EventBridgePublisher,
  SecretsManagerFingerprints,
  SecretsManagerStore,
  SfnExecutionStatus,
  SfnTaskCallbacks,
  SfnWorkflowStarter,
} from '#adapters/aws/index.js';
import { StytchClient } from '#adapters/stytch/index.js';
import { StytchRotationAdapter } from '#adapters/stytch/StytchRotationAdapter.js';
import type { ClientDirectory, StepDeps, StepLogger } from '#core/deps.js';
import { RotatorError } from '#core/errors.js';
import { fingerprintedSecrets } from '#core/fingerprintedSecrets.js';
import type { StytchPort } from '#core/ports.js';
import type { RegistryPort } from '#core/registry.js';
import { Secret } from '#core/secret.js';
import { EnvironmentError, type RotatorEnv } from './env.js';
import { powertoolsMetrics } from './metrics.js';
import { traced } from './tracer.js';

/**
 * Builds the real StepDeps of a Lambda container: SDK clients built once (they honour the
 * standard configuration, so `AWS_ENDPOINT_URL` points them at the sandbox) and traced (their
 * calls are X-Ray subsegments when tracing is on, see {@link traced}), and the Stytch client
 * built from the project credentials read from Secrets Manager at run time, on first use.
 */
export function createStepDeps(env: RotatorEnv, logger: StepLogger): StepDeps {
  const secretsManager = traced(new SecretsManagerClient({}));
  const dynamo = DynamoDBDocumentClient.from(traced(new DynamoDBClient({})), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const clients = env.ROTATOR_CLIENTS;
  const ledger = new DynamoLedger({ client: dynamo, tableName: env.ROTATOR_TABLE_NAME });
  const fingerprints = new SecretsManagerFingerprints({
    client: secretsManager,
    keySecretId: env.ROTATOR_FINGERPRINT_KEY_SECRET_ID,
  });
  const clock = { now: () => new Date() };
  const sfn = traced(new SFNClient({}));
  const stateMachineArn = env.ROTATOR_STATE_MACHINE_ARN;
  return {
    stytch: lazyStytch(async () => {
      const credentials = await readStytchCredentials(
        secretsManager,
        env.ROTATOR_STYTCH_CREDENTIALS_SECRET_ID,
      );
      const stytch = new StytchClient({
        projectId: credentials.projectId,
        secret: credentials.secret,
        ...(env.ROTATOR_STYTCH_BASE_URL === undefined ? {} : { baseUrl: env.ROTATOR_STYTCH_BASE_URL }),
        logger: { debug: () => undefined, warn: (message, attributes) => logger.warn(message, attributes) },
      });
      return new StytchRotationAdapter({ stytch });
    }),
    secrets: fingerprintedSecrets(
      new SecretsManagerStore({ client: secretsManager, prefix: env.ROTATOR_SECRET_PREFIX }),
      { fingerprints, index: ledger, clock, logger },
    ),
    ledger,
    events: new EventBridgePublisher({
      client: traced(new EventBridgeClient({})),
      eventBusName: env.ROTATOR_EVENT_BUS_NAME,
    }),
    callbacks: new SfnTaskCallbacks({ client: sfn }),
    executions: new SfnExecutionStatus({ client: sfn }),
    clock,
    clients: configuredThenRegistered(clients, ledger),
    logger,
    fingerprints,
    metrics: powertoolsMetrics(),
    // Only the leak intake starts the workflow, and only it is given the ARN.
    workflow:
      stateMachineArn === undefined
        ? {
            start: () => {
              throw new EnvironmentError(['ROTATOR_STATE_MACHINE_ARN: required to start a rotation']);
            },
          }
        : new SfnWorkflowStarter({ client: sfn, stateMachineArn }),
  };
}

/**
 * The managed clients: the deployment config's, then those `rotator register` recorded in the
 * ledger (the config wins when both name a client). A registered client's policy is its
 * expected consumers with every trigger's default deadline.
 */
function configuredThenRegistered(
  configured: RotatorEnv['ROTATOR_CLIENTS'],
  registry: RegistryPort,
): ClientDirectory {
  return {
    find: async (clientId) => {
      const fromConfig = configured[clientId];
      if (fromConfig !== undefined) return fromConfig;
      const registered = await registry.getRegistration(clientId);
      return registered === null
        ? undefined
        : { kind: registered.clientKind, policy: { expectedConsumers: [...registered.expectedConsumers] } };
    },
    ids: async () => {
      const registered = (await registry.listRegistrations()).map((registration) => registration.clientId);
      return [...new Set([...Object.keys(configured), ...registered])];
    },
  };
}

/**
 * A StytchPort that reads the project credentials on first use: only the functions that talk to
 * Stytch (start, complete, cancel) need, and are granted, read access to them.
 */
function lazyStytch(build: () => Promise<StytchPort>): StytchPort {
  let port: Promise<StytchPort> | undefined;
  const get = (): Promise<StytchPort> => {
    port ??= build().catch((error: unknown) => {
      port = undefined; // a throttled read may succeed on the next call
      throw error;
    });
    return port;
  };
  return {
    startRotation: async (client) => (await get()).startRotation(client),
    completeRotation: async (client) => (await get()).completeRotation(client),
    cancelRotation: async (client) => (await get()).cancelRotation(client),
    getSecretState: async (client) => (await get()).getSecretState(client),
    selfTest: async (client, secret) => (await get()).selfTest(client, secret),
    authenticates: async (client, secret) => (await get()).authenticates(client, secret),
  };
}

const StytchCredentialsSchema = z.object({ project_id: z.string().min(1), secret: z.string().min(1) });

/** The Stytch project credentials secret could not be read or is malformed. Permanent. */
export class StytchCredentialsError extends RotatorError {
  public constructor(secretId: string, problem: string, options: ErrorOptions = {}) {
    super(`Stytch project credentials in ${secretId}: ${problem}`, options);
    this.name = 'StytchCredentialsError';
  }
}

export async function readStytchCredentials(
  client: SecretsManagerClient,
  secretId: string,
): Promise<{ projectId: string; secret: Secret }> {
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
