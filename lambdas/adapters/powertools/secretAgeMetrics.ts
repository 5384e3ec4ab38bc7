import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SECRET_AGE_METRICS, type SecretAgeMetricsPort } from '#core/secretAge.js';
import { SERVICE_NAME } from './service.js';

/**
 * One run's counts ({@link SECRET_AGE_METRICS}) as one CloudWatch EMF document, through
 * Powertools, with no dimension: the `secrets-overdue` alarm of RotatorMonitoring matches its
 * metric's exact (empty) dimension set, so the `service` dimension Powertools adds by default is
 * cleared. The namespace is the function's POWERTOOLS_METRICS_NAMESPACE.
 */
export function powertoolsSecretAgeMetrics(
  metrics: Metrics = new Metrics({ serviceName: SERVICE_NAME }),
): SecretAgeMetricsPort {
  metrics.clearDefaultDimensions();
  return {
    secretAgeCounts: ({ managedClients, overdue, unmeasured }) => {
      // An empty dimension set, so the document says `Dimensions: [[]]`: holding no dimension at
      // all, Powertools writes `Dimensions: []`, which the EMF schema refuses (at least one set).
      metrics.addDimensions({});
      metrics.addMetric(SECRET_AGE_METRICS.overdue, MetricUnit.Count, overdue);
      metrics.addMetric(SECRET_AGE_METRICS.managedClients, MetricUnit.Count, managedClients);
      metrics.addMetric(SECRET_AGE_METRICS.unmeasured, MetricUnit.Count, unmeasured);
      // At once: nothing waits for a flush at the end of the invocation.
      metrics.publishStoredMetrics();
    },
  };
}
