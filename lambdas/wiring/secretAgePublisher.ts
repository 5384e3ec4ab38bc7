import { dynamoDocumentClient } from '#adapters/aws/clients/dynamoDocument.js';
import { secretsManagerClient } from '#adapters/aws/clients/secretsManager.js';
import type { FunctionClients } from '#adapters/aws/clients.js';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { SecretAges } from '#adapters/aws/SecretAges.js';
import { withInvocationContext } from '#adapters/powertools/invocation.js';
import { lambdaLogger } from '#adapters/powertools/logger.js';
import { powertoolsSecretAgeMetrics } from '#adapters/powertools/secretAgeMetrics.js';
import type { StepLogger } from '#core/deps.js';
import type { Clock } from '#core/ports.js';
import {
  type OverdueRule,
  publishSecretAges,
  type SecretAgeDeps,
  type SecretAgeMetricsPort,
  type SecretAgeSummary,
} from '#core/secretAge.js';
import { readSecretAgeEnv, SECRET_AGE_ENV, type SecretAgeEnv } from './environment.js';

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
  readonly deps: SecretAgeDeps;
  readonly rule: OverdueRule;
}

/**
 * The publisher's deps over `env`: the clients from the ledger's registry (a Query, nothing
 * else of the table), version metadata from Secrets Manager, never a secret value.
 */
export function createSecretAgeDeps(
  env: SecretAgeEnv,
  options: SecretAgeDepsOptions,
): SecretAgePublisherDeps {
  return {
    deps: {
      registry: new DynamoLedger({
        client: options.dynamoDocument ?? dynamoDocumentClient(),
        tableName: env.ROTATOR_TABLE_NAME,
      }),
      ages: new SecretAges({
        client: options.secretsManager ?? secretsManagerClient(),
        prefix: env.ROTATOR_SECRET_PREFIX,
      }),
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
 * The Lambda entry of the secret-age publisher, run by a schedule (the event carries nothing it
 * needs): lists the registered clients, measures each one's AWSCURRENT secret, and publishes how
 * many there are and how many are overdue ({@link SecretAgeSummary}); a client whose secret cannot
 * be read is counted in `problemCount` and does not fail the run. Its deps are built once per
 * container, on the first invocation (a broken environment fails loudly then; importing the
 * handler has no side effects), or come from `depsFactory`. Its log lines carry the Lambda context.
 */
export function secretAgePublisherHandler(
  depsFactory?: () => SecretAgePublisherDeps,
): (event?: unknown, context?: unknown) => Promise<SecretAgeSummary> {
  let container: SecretAgePublisherDeps | undefined;
  const containerDeps = (): SecretAgePublisherDeps => {
    container ??= depsFactory?.() ?? createSecretAgeDeps(readSecretAgeEnv(), { logger: lambdaLogger });
    return container;
  };
  return withInvocationContext(async (_event?: unknown): Promise<SecretAgeSummary> => {
    const { deps, rule } = containerDeps();
    return publishSecretAges(deps, rule);
  });
}
