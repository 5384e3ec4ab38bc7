// Each adapter from its own module, never the adapters' index: the index re-exports the CLI's
// adapters too, whose SDK clients (CloudFormation, Scheduler) a function would then load at start.

import { budgetedSecretsManagerWrites } from '#adapters/aws/clients/budgetedWrites.js';
import { dynamoDocumentClient } from '#adapters/aws/clients/dynamoDocument.js';
import { eventBridgeClient } from '#adapters/aws/clients/eventBridge.js';
import { secretsManagerClient } from '#adapters/aws/clients/secretsManager.js';
import { sfnClient } from '#adapters/aws/clients/sfn.js';
import type { FunctionClients } from '#adapters/aws/clients.js';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { EventBridgePublisher } from '#adapters/aws/EventBridgePublisher.js';
import { SecretsManagerFingerprints } from '#adapters/aws/SecretsManagerFingerprints.js';
import { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { readStytchCredentials } from '#adapters/aws/SecretValueReader.js';
import { SfnExecutionStatus } from '#adapters/aws/SfnExecutionStatus.js';
import { SfnTaskCallbacks } from '#adapters/aws/SfnTaskCallbacks.js';
import { SfnWorkflowStarter } from '#adapters/aws/SfnWorkflowStarter.js';
import { powertoolsMetrics } from '#adapters/powertools/metrics.js';
import { StytchClient } from '#adapters/stytch/StytchClient.js';
import { StytchRotationAdapter } from '#adapters/stytch/StytchRotationAdapter.js';
import { registeredClients } from '#core/clientDirectory.js';
import type { RotationMetricsPort, StepDeps, StepLogger, WorkflowStarterPort } from '#core/deps.js';
import { fingerprintedSecrets } from '#core/fingerprintedSecrets.js';
import type { Clock, StytchPort } from '#core/ports.js';
import { BUDGET_NAMES } from '#core/rateBudget.js';
import { ENV, EnvironmentError, type RotatorEnv } from './environment.js';
import { ROTATION_STEP_BUNDLE, sharedRateBudget } from './rateBudget.js';
import { invocationCredits, isUrgent } from './urgency.js';

/** Options of {@link createStepDeps}: what a Lambda container takes by default, overridable. */
export interface StepDepsOptions {
  readonly logger: StepLogger;
  /** @default - clients built from the standard configuration (`AWS_ENDPOINT_URL` included) */
  readonly clients?: Partial<FunctionClients>;
  /** @default the system clock */
  readonly clock?: Clock;
  /** @default EMF through Powertools */
  readonly metrics?: RotationMetricsPort;
}

/**
 * Builds the StepDeps of a workflow function: the AWS adapters over clients built once, on first
 * use, and the Stytch client built from the project credentials read from Secrets Manager at run
 * time, on first use. Every Stytch attempt and every Secrets Manager write first takes its share
 * of the deployment's budgets (core/rateBudget.ts), counted in the ledger table.
 */
export function createStepDeps(env: RotatorEnv, options: StepDepsOptions): StepDeps {
  const given = withDefaults(options.clients);
  const budget = sharedRateBudget({
    dynamoDocument: given.dynamoDocument,
    tableName: env.ROTATOR_TABLE_NAME,
    stytchRequestsPerSecond: env.ROTATOR_STYTCH_REQUESTS_PER_SECOND,
    secretsManagerWritesPerSecond: env.ROTATOR_SECRETS_MANAGER_WRITES_PER_SECOND,
    bundle: ROTATION_STEP_BUNDLE,
    // A leak rotation's steps may use the reserved part (./urgency.ts).
    urgent: isUrgent,
    // Each step spends the bundle it bought, not one a concurrent step of this process bought.
    heldCredits: invocationCredits,
  });
  // The credentials read (a read) goes straight through; the managed secrets' writes wait for budget.
  const aws: FunctionClients = {
    ...given,
    secretsManager: budgetedSecretsManagerWrites(given.secretsManager, () =>
      budget.acquire(BUDGET_NAMES.secretsManagerWrites),
    ),
  };
  const { logger } = options;
  const ledger = new DynamoLedger({ client: aws.dynamoDocument, tableName: env.ROTATOR_TABLE_NAME });
  const fingerprints = new SecretsManagerFingerprints({
    client: aws.secretsManager,
    keySecretId: env.ROTATOR_FINGERPRINT_KEY_SECRET_ID,
  });
  const clock = options.clock ?? { now: () => new Date() };
  return {
    stytch: lazyStytch(async () => {
      const credentials = await readStytchCredentials(
        aws.secretsManager,
        env.ROTATOR_STYTCH_CREDENTIALS_SECRET_ID,
      );
      const stytch = new StytchClient({
        projectId: credentials.projectId,
        secret: credentials.secret,
        ...(env.ROTATOR_STYTCH_BASE_URL === undefined ? {} : { baseUrl: env.ROTATOR_STYTCH_BASE_URL }),
        logger: { debug: () => undefined, warn: (message, attributes) => logger.warn(message, attributes) },
        beforeRequest: budget.acquireStytch,
      });
      return new StytchRotationAdapter({ stytch });
    }),
    secrets: fingerprintedSecrets(
      new SecretsManagerStore({ client: aws.secretsManager, prefix: env.ROTATOR_SECRET_PREFIX }),
      { fingerprints, index: ledger, clock, logger },
    ),
    ledger,
    events: new EventBridgePublisher({ client: aws.eventBridge, eventBusName: env.ROTATOR_EVENT_BUS_NAME }),
    callbacks: new SfnTaskCallbacks({ client: aws.sfn }),
    executions: new SfnExecutionStatus({ client: aws.sfn }),
    clock,
    clients: registeredClients(ledger, {
      onUnreadable: (key, error) =>
        logger.warn('Registry item unreadable: skipped', {
          key,
          error: error.name,
          errorMessage: error.message,
        }),
    }),
    logger,
    fingerprints,
    metrics: options.metrics ?? powertoolsMetrics(),
    workflow: workflowStarter(aws, env.ROTATOR_STATE_MACHINE_ARN),
  };
}

/** Each given client, else one built from the standard configuration. */
function withDefaults(given: Partial<FunctionClients> = {}): FunctionClients {
  return {
    secretsManager: given.secretsManager ?? secretsManagerClient(),
    dynamoDocument: given.dynamoDocument ?? dynamoDocumentClient(),
    eventBridge: given.eventBridge ?? eventBridgeClient(),
    sfn: given.sfn ?? sfnClient(),
  };
}

/** Only the functions that start the workflow are given its ARN; the others fail loudly if they try. */
function workflowStarter(aws: FunctionClients, stateMachineArn: string | undefined): WorkflowStarterPort {
  if (stateMachineArn === undefined) {
    return {
      start: () => {
        throw new EnvironmentError([`${ENV.stateMachineArn}: required to start a rotation`]);
      },
    };
  }
  return new SfnWorkflowStarter({ client: aws.sfn, stateMachineArn });
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
