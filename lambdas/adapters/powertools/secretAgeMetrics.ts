import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DRIFT_METRICS } from '#core/fleetDrift.js';
import { SECRET_AGE_METRICS, type SecretAgeMetricsPort } from '#core/secretAge.js';
import { SERVICE_NAME } from './service.js';

/**
 * One run's counts ({@link SECRET_AGE_METRICS}, and {@link DRIFT_METRICS} when the run could read
 * Stytch) as one CloudWatch EMF document, through Powertools, with no dimension: the
 * `secrets-overdue` and `fleet-drift` alarms of RotatorMonitoring match their metrics' exact
 * (empty) dimension set, so the `service` dimension Powertools adds by default is cleared. The
 * namespace is the function's POWERTOOLS_METRICS_NAMESPACE.
 */
export function powertoolsSecretAgeMetrics(
  metrics: Metrics = new Metrics({ serviceName: SERVICE_NAME }),
): SecretAgeMetricsPort {
  metrics.clearDefaultDimensions();
  return {
    secretAgeCounts: ({ managedClients, overdue, unmeasured, drift }) => {
      // An empty dimension set, so the document says `Dimensions: [[]]`: holding no dimension at
      // all, Powertools writes `Dimensions: []`, which the EMF schema refuses (at least one set).
      metrics.addDimensions({});
      metrics.addMetric(SECRET_AGE_METRICS.overdue, MetricUnit.Count, overdue);
      metrics.addMetric(SECRET_AGE_METRICS.managedClients, MetricUnit.Count, managedClients);
      metrics.addMetric(SECRET_AGE_METRICS.unmeasured, MetricUnit.Count, unmeasured);
      // Absent, not 0, when Stytch could not be read: the drift alarm must not take it for none.
      if (drift !== undefined) {
        metrics.addMetric(DRIFT_METRICS.midRotationAtStytch, MetricUnit.Count, drift.midRotationAtStytch);
        metrics.addMetric(DRIFT_METRICS.missingAtStytch, MetricUnit.Count, drift.missingAtStytch);
        metrics.addMetric(DRIFT_METRICS.unmanaged, MetricUnit.Count, drift.unmanaged);
      }
      // At once: nothing waits for a flush at the end of the invocation.
      metrics.publishStoredMetrics();
    },
  };
}
