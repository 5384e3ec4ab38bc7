import { dynamoDocumentClient } from '#adapters/aws/clients/dynamoDocument.js';
import { secretsManagerClient } from '#adapters/aws/clients/secretsManager.js';
import type { FunctionClients } from '#adapters/aws/clients.js';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { SecretAges } from '#adapters/aws/SecretAges.js';
import { readStytchCredentials } from '#adapters/aws/SecretValueReader.js';
import { withInvocationContext } from '#adapters/powertools/invocation.js';
import { lambdaLogger } from '#adapters/powertools/logger.js';
import { powertoolsSecretAgeMetrics } from '#adapters/powertools/secretAgeMetrics.js';
import { StytchClient } from '#adapters/stytch/StytchClient.js';
import { StytchInventory } from '#adapters/stytch/StytchInventory.js';
import type { StepLogger } from '#core/deps.js';
import type { StytchClientFact } from '#core/fleetDrift.js';
import {
  type FleetSweepDeps,
  type FleetSweepSummary,
  type StytchInventoryPort,
  sweepFleet,
} from '#core/fleetSweep.js';
import type { Clock } from '#core/ports.js';
import { DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND } from '#core/rateBudget.js';
import type { OverdueRule, SecretAgeMetricsPort } from '#core/secretAge.js';
import { ENV, readSecretAgeEnv, SECRET_AGE_ENV, type SecretAgeEnv } from './environment.js';
import { sharedRateBudget } from './rateBudget.js';

/** Options of {@link createSecretAgeDeps}: what a Lambda container takes by default, overridable. */
export interface SecretAgeDepsOptions {
  readonly logger: StepLogger;
  /** @default - a client built from the standard configuration */
  readonly secretsManager?: FunctionClients['secretsManager'];
  /** @default - a client built from the standard configuration */
  readonly dynamoDocument?: FunctionClients['dynamoDocument'];
  /** @default the counts as one EMF document through Powertools */
  readonly metrics?: SecretAgeMetricsPort;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** The publisher's deps and the rule that makes a secret overdue (the deployment's). */
export interface SecretAgePublisherDeps {
  readonly deps: FleetSweepDeps;
  readonly rule: OverdueRule;
}

/**
 * The publisher's deps over `env`: the clients from the ledger's registry (a Query), the locks of
 * the clients Stytch shows mid-rotation (a GetItem each) and the sweep's item (one PutItem);
 * version metadata from Secrets Manager, never a managed secret's value; Stytch's two searches,
 * with the project credentials read from Secrets Manager on the first run that needs them.
 */
export function createSecretAgeDeps(
  env: SecretAgeEnv,
  options: SecretAgeDepsOptions,
): SecretAgePublisherDeps {
  const secretsManager = options.secretsManager ?? secretsManagerClient();
  const dynamoDocument = options.dynamoDocument ?? dynamoDocumentClient();
  const ledger = new DynamoLedger({ client: dynamoDocument, tableName: env.ROTATOR_TABLE_NAME });
  // The sweep's searches share the project's budget with the rotations (it writes no secret).
  const budget = sharedRateBudget({
    dynamoDocument,
    tableName: env.ROTATOR_TABLE_NAME,
    stytchRequestsPerSecond: env[ENV.stytchRequestsPerSecond],
    secretsManagerWritesPerSecond: DEFAULT_SECRETS_MANAGER_WRITES_PER_SECOND, // never used: no write
  });
  return {
    deps: {
      registry: ledger,
      ages: new SecretAges({ client: secretsManager, prefix: env.ROTATOR_SECRET_PREFIX }),
      stytch: lazyInventory(async () => {
        const credentials = await readStytchCredentials(secretsManager, env[ENV.stytchCredentialsSecretId]);
        const baseUrl = env[ENV.stytchBaseUrl];
        const stytch = new StytchClient({
          projectId: credentials.projectId,
          secret: credentials.secret,
          ...(baseUrl === undefined ? {} : { baseUrl }),
          logger: {
            debug: () => undefined,
            warn: (message, attributes) => options.logger.warn(message, attributes),
          },
          beforeRequest: budget.acquireStytch,
        });
        return new StytchInventory({ stytch });
      }),
      locks: ledger,
      sweeps: ledger,
      metrics: options.metrics ?? powertoolsSecretAgeMetrics(),
      clock: options.clock ?? { now: () => new Date() },
      logger: options.logger,
    },
    rule: {
      marginDays: env[SECRET_AGE_ENV.marginDays],
      defaultPeriodDays: env[SECRET_AGE_ENV.defaultPeriodDays],
    },
  };
}

/**
 * Stytch's inventory, built on first use (the credentials are read then); a build that failed
 * (a throttled read) is tried again on the next run. The client is kept for the container's life.
 */
function lazyInventory(build: () => Promise<StytchInventoryPort>): StytchInventoryPort {
  let inventory: Promise<StytchInventoryPort> | undefined;
  return {
    listClients: async (): Promise<readonly StytchClientFact[]> => {
      inventory ??= build().catch((error: unknown) => {
        inventory = undefined;
        throw error;
      });
      return (await inventory).listClients();
    },
  };
}

/**
 * The Lambda entry of the secret-age publisher, the hourly fleet sweep, run by a schedule (the
 * event carries nothing it needs): lists the registered clients, measures each one's AWSCURRENT
 * secret, compares them with Stytch's clients and the ledger's locks, publishes the counts, and
 * records the sweep in the ledger ({@link FleetSweepSummary}); a client whose secret cannot be
 * read, or a Stytch that cannot be, does not fail the run. Its deps are built once per container,
 * on the first invocation (a broken environment fails loudly then; importing the handler has no
 * side effects), or come from `depsFactory`. Its log lines carry the Lambda context.
 */
export function secretAgePublisherHandler(
  depsFactory?: () => SecretAgePublisherDeps,
): (event?: unknown, context?: unknown) => Promise<FleetSweepSummary> {
  let container: SecretAgePublisherDeps | undefined;
  const containerDeps = (): SecretAgePublisherDeps => {
    container ??= depsFactory?.() ?? createSecretAgeDeps(readSecretAgeEnv(), { logger: lambdaLogger });
    return container;
  };
  return withInvocationContext(async (_event?: unknown): Promise<FleetSweepSummary> => {
    const { deps, rule } = containerDeps();
    return sweepFleet(deps, rule);
  });
}
