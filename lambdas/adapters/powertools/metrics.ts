import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RotationMetricsPort } from '#core/deps.js';
import { SERVICE_NAME } from './service.js';

/**
 * The rotator's metrics as CloudWatch EMF, through Powertools. Each metric is emitted at once
 * (`singleMetric`) with its own dimensions, so nothing waits for a flush that a failed
 * invocation would skip. The namespace is the functions' POWERTOOLS_METRICS_NAMESPACE.
 */
export function powertoolsMetrics(
  metrics: Metrics = new Metrics({ serviceName: SERVICE_NAME }),
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

/**
 * The Metrics instance that remembers whether this container has been invoked: Powertools keeps
 * the cold-start flag per instance, so it is one per container, built on first use (the
 * namespace is read from the environment then).
 */
let coldStartMetrics: Metrics | undefined;

/**
 * Emits Powertools' own `ColdStart` metric (Count 1, dimensions `service` and `function_name`)
 * on the container's first invocation, and nothing on the later ones, at once (a single-metric
 * document, so a failed invocation does not lose it). Powertools counts only an on-demand
 * container (Lambda sets `AWS_LAMBDA_INITIALIZATION_TYPE=on-demand`): a provisioned one, or a
 * process outside Lambda, emits nothing.
 */
export function captureColdStartMetric(functionName: string): void {
  coldStartMetrics ??= new Metrics({ serviceName: SERVICE_NAME });
  coldStartMetrics.captureColdStartMetric(functionName);
}
