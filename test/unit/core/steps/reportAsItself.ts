import type { StepDeps } from '#core/deps.js';
import { consumerSource } from '#core/events.js';
import { type ReportResult, recordHealthReport } from '#core/steps/recordHealthReport.js';

/**
 * Delivers a health report as its own consumer sends it: with the source IAM lets that consumer
 * use (`consumerSource(detail.consumer)`), the only one the aggregator counts a report from.
 */
export function reportAsItself(deps: StepDeps, detail: unknown): Promise<ReportResult> {
  const consumer = (detail as { readonly consumer?: unknown } | null)?.consumer;
  return recordHealthReport(deps, detail, {
    source: consumerSource(typeof consumer === 'string' ? consumer : ''),
  });
}
