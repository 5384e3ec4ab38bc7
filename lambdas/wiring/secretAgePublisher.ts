import { secretsManagerClient } from '#adapters/aws/clients/secretsManager.js';
import type { FunctionClients } from '#adapters/aws/clients.js';
import { SecretAges } from '#adapters/aws/SecretAges.js';
import { withInvocationContext } from '#adapters/powertools/invocation.js';
import { lambdaLogger } from '#adapters/powertools/logger.js';
import { powertoolsSecretAgeMetrics } from '#adapters/powertools/secretAgeMetrics.js';
import type { StepLogger } from '#core/deps.js';
import type { Clock } from '#core/ports.js';
import {
  publishSecretAges,
  type SecretAgeDeps,
  type SecretAgeMetricsPort,
  type SecretAgeSummary,
} from '#core/secretAge.js';
import { readSecretAgeEnv, type SecretAgeEnv } from './environment.js';

/** Options of {@link createSecretAgeDeps}: what a Lambda container takes by default, overridable. */
export interface SecretAgeDepsOptions {
  readonly logger: StepLogger;
  /** @default - a client built from the standard configuration */
  readonly secretsManager?: FunctionClients['secretsManager'];
  /** @default SecretAgeDays as EMF through Powertools */
  readonly metrics?: SecretAgeMetricsPort;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** The publisher's deps and the clients it measures (the configured ones). */
export interface SecretAgePublisherDeps {
  readonly deps: SecretAgeDeps;
  readonly clientIds: readonly string[];
}

/** The publisher's deps over `env`: version metadata from Secrets Manager, never a secret value. */
export function createSecretAgeDeps(
  env: SecretAgeEnv,
  options: SecretAgeDepsOptions,
): SecretAgePublisherDeps {
  return {
    deps: {
      ages: new SecretAges({
        client: options.secretsManager ?? secretsManagerClient(),
        prefix: env.ROTATOR_SECRET_PREFIX,
      }),
      metrics: options.metrics ?? powertoolsSecretAgeMetrics(),
      clock: options.clock ?? { now: () => new Date() },
      logger: options.logger,
    },
    clientIds: Object.keys(env.ROTATOR_CLIENTS),
  };
}

/**
 * The Lambda entry of the SecretAgeDays publisher, run by a schedule (the event carries nothing it
 * needs): publishes the age of every managed client's AWSCURRENT secret; a client whose secret
 * cannot be read is listed in `problems` and does not fail the run. Its deps are built once per
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
    const { deps, clientIds } = containerDeps();
    return publishSecretAges(deps, clientIds);
  });
}
