import { recordHealthReport } from '#core/steps/recordHealthReport.js';
import type { StepBody } from '../stepHandler.js';

/** What the health aggregator reads of a `Consumer Health Reported` event. */
export type HealthEvent = { source?: unknown; detail?: unknown };

/**
 * The health aggregator: an EventBridge target receiving `Consumer Health Reported` events. The
 * envelope `source` says which consumer sent the report; only that consumer's report counts.
 */
export const HealthAggregator = (async (deps, event: HealthEvent) =>
  recordHealthReport(deps, event.detail, { source: event.source })) satisfies StepBody<HealthEvent, unknown>;
