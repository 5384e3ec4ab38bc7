import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RotationMetricsPort } from '#core/deps.js';

/**
 * The rotator's metrics as CloudWatch EMF, through Powertools. Each metric is emitted at once
 * (`singleMetric`) with its own dimensions, so nothing waits for a flush that a failed
 * invocation would skip. The namespace is the functions' POWERTOOLS_METRICS_NAMESPACE.
 */
export function powertoolsMetrics(
  metrics: Metrics = new Metrics({ serviceName: 'stytch-m2m-rotator' }),
): RotationMetricsPort {
  return {
    rotationEnded: ({ trigger, outcome, reason, durationMs }) => {
      const duration = metrics.singleMetric();
      duration.addDimension('Trigger', trigger);
      duration.addDimension('Outcome', outcome);
      duration.addMetric('RotationDuration', MetricUnit.Milliseconds, durationMs);
      const count = metrics.singleMetric();
      count.addDimension('Trigger', trigger);
      count.addDimension('Outcome', outcome);
      count.addDimension('Reason', reason);
      count.addMetric('RotationOutcome', MetricUnit.Count, 1);
    },
    firstConsumerReport: ({ trigger, afterMs }) => {
      const first = metrics.singleMetric();
      first.addDimension('Trigger', trigger);
      first.addMetric('TimeToFirstConsumerReport', MetricUnit.Milliseconds, afterMs);
    },
  };
}
