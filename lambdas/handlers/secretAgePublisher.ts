import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretAges } from '#adapters/aws/SecretAges.js';
import {
  publishSecretAges,
  type SecretAgeDeps,
  type SecretAgeMetricsPort,
  type SecretAgeSummary,
} from '#core/secretAge.js';
import { withInvocationContext } from './runtime/invocation.js';
import { lambdaLogger } from './runtime/logger.js';
import { readSecretAgeEnv } from './runtime/secretAgeEnv.js';
import { SERVICE_NAME } from './runtime/service.js';
import { traced } from './runtime/tracer.js';

/** The metric the `SecretAgeDays` alarms of RotatorMonitoring watch. */
export const SECRET_AGE_METRIC = 'SecretAgeDays';

/**
 * `SecretAgeDays` as CloudWatch EMF, through Powertools: one document per client, emitted at once,
 * with the one dimension `ClientId`. An alarm matches its metric's exact dimension set, so the
 * `service` dimension Powertools adds by default is cleared. Days have no CloudWatch unit: `None`.
 * The namespace is the function's POWERTOOLS_METRICS_NAMESPACE.
 */
export function powertoolsSecretAgeMetrics(
  metrics: Metrics = new Metrics({ serviceName: SERVICE_NAME }),
): SecretAgeMetricsPort {
  return {
    secretAge: ({ clientId, ageDays }) => {
      const age = metrics.singleMetric();
      // A single metric gets `service` again whatever its parent holds: clear it on the child.
      age.clearDefaultDimensions();
      age.addDimension('ClientId', clientId);
      age.addMetric(SECRET_AGE_METRIC, MetricUnit.NoUnit, ageDays);
    },
  };
}

interface PublisherContainer {
  readonly deps: SecretAgeDeps;
  readonly clientIds: readonly string[];
}

let container: PublisherContainer | undefined;

/**
 * Built once per container, on the first invocation: the environment is read and validated then
 * (a broken one fails loudly), and importing the handler has no side effects.
 */
function containerDeps(): PublisherContainer {
  if (container !== undefined) return container;
  const env = readSecretAgeEnv();
  container = {
    deps: {
      ages: new SecretAges({
        client: traced(new SecretsManagerClient({})),
        prefix: env.ROTATOR_SECRET_PREFIX,
      }),
      metrics: powertoolsSecretAgeMetrics(),
      clock: { now: () => new Date() },
      logger: lambdaLogger,
    },
    clientIds: Object.keys(env.ROTATOR_CLIENTS),
  };
  return container;
}

/**
 * Lambda entry point of the SecretAgeDays publisher, run by a schedule (the event carries nothing
 * it needs). Publishes the age of every managed client's AWSCURRENT secret; a client whose secret
 * cannot be read is listed in `problems` and does not fail the run. Its log lines carry the
 * Lambda context.
 */
export const handler = withInvocationContext(
  'SecretAgePublisher',
  async (_event?: unknown): Promise<SecretAgeSummary> => {
    const { deps, clientIds } = containerDeps();
    return publishSecretAges(deps, clientIds);
  },
);
