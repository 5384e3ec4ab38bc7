import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SecretAgeMetricsPort } from '#core/secretAge.js';
import { SERVICE_NAME } from './service.js';

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
