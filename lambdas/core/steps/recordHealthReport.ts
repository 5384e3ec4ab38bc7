import { answerWaitIfDecided, reportOf, type WaitDecision } from '../decision.js';
import type { StepDeps } from '../deps.js';
import { boundedSource, ConsumerHealthReportedDetailSchema, consumerOfSource } from '../events.js';
import { parseOrThrow } from '../validate.js';

const REPORTABLE: ReadonlySet<string> = new Set(['started', 'pending']);

/** Why a well-formed report was not counted. */
export type ReportRejection =
  /** Its envelope `source` is not the consumer it names (another consumer's, or no consumer's). */
  | 'source_mismatch'
  | 'unknown_rotation'
  | 'not_pending'
  | 'wrong_client'
  | 'wrong_version'
  | 'unexpected_consumer';

/** The aggregator's verdict on one report. */
export type ReportResult =
  | { readonly accepted: true; readonly decision: WaitDecision['kind'] }
  | { readonly accepted: false; readonly rejection: ReportRejection };

/** The event's envelope, as EventBridge delivered it: who sent the report. */
export interface ReportEnvelope {
  /** The envelope `source`; IAM lets a consumer publish only with its own (`consumerSource(name)`). */
  readonly source: unknown;
}

/**
 * The health aggregator: records one `Consumer Health Reported` event and answers the waiting
 * workflow when the reports decide it. Only a consumer speaks for itself: a report whose envelope
 * `source` is not `consumerSource(detail.consumer)` is refused, kept on the rotation as refused
 * (for the responder) and logged, and never counted. A report for another rotation, another
 * version, or a consumer the policy does not expect changes nothing; a malformed one is an error
 * (so the event lands in the dead-letter queue).
 */
export async function recordHealthReport(
  deps: StepDeps,
  detail: unknown,
  envelope: ReportEnvelope,
): Promise<ReportResult> {
  const report = parseOrThrow(ConsumerHealthReportedDetailSchema, detail, 'Consumer Health Reported event');
  if (consumerOfSource(envelope.source) !== report.consumer) {
    const refused = {
      claimed: report.consumer,
      source: boundedSource(envelope.source),
      healthy: report.healthy,
      at: deps.clock.now().toISOString(),
    };
    const kept = await deps.ledger.recordRefusedReport(report.clientId, report.rotationId, refused);
    // The report's own words (`detail`) are not logged: they are the sender's, and it is not who it says.
    deps.logger.warn('Consumer health report refused: its source does not speak for the consumer it names', {
      rejection: 'source_mismatch',
      clientId: report.clientId,
      rotationId: report.rotationId,
      claimed: refused.claimed,
      source: refused.source,
      healthy: refused.healthy,
      recorded: kept,
    });
    return { accepted: false, rejection: 'source_mismatch' };
  }
  const reject = (rejection: ReportRejection): ReportResult => {
    deps.logger.warn('Consumer health report rejected', {
      rejection,
      clientId: report.clientId,
      rotationId: report.rotationId,
      consumer: report.consumer,
    });
    return { accepted: false, rejection };
  };

  const record = await deps.ledger.getRotation(report.clientId, report.rotationId);
  if (record === null) return reject('unknown_rotation');
  if (record.clientId !== report.clientId) return reject('wrong_client');
  // Accepted from the moment the pending secret exists: a consumer that polls can find AWSPENDING
  // before PublishPending marks the rotation pending; the wait counts such reports when it begins.
  if (!REPORTABLE.has(record.status)) return reject('not_pending');
  // The pending version id is the rotation id by design, so a report that comes after AWSPENDING
  // is stored but before StartRotation recorded it (a consumer polling fast) is for this version.
  if ((record.pendingVersionId ?? record.rotationId) !== report.pendingVersionId)
    return reject('wrong_version');
  if (!record.expectedConsumers.includes(report.consumer)) return reject('unexpected_consumer');

  const updated = await deps.ledger.recordReport(report.clientId, report.rotationId, report.consumer, {
    healthy: report.healthy,
    reportedAt: deps.clock.now().toISOString(),
    ...(report.detail === undefined ? {} : { detail: report.detail }),
  });
  if (updated === null) return reject('not_pending');
  // The rotation's first report: none was recorded before this one, and the write left exactly
  // one. Both are checked so that a redelivered first report is not counted again, and of two
  // first reports racing only the one whose write landed first counts.
  if (Object.keys(record.reports).length === 0 && Object.keys(updated.reports).length === 1) {
    const since = updated.steps.stored ?? updated.steps.started;
    const reportedAt = reportOf(updated.reports, report.consumer)?.reportedAt;
    if (since !== undefined && reportedAt !== undefined) {
      deps.metrics.firstConsumerReport({
        trigger: updated.trigger,
        afterMs: Math.max(0, Date.parse(reportedAt) - Date.parse(since)),
      });
    }
  }
  const decision = await answerWaitIfDecided(deps, updated);
  deps.logger.info('Consumer health report recorded', {
    clientId: report.clientId,
    rotationId: report.rotationId,
    consumer: report.consumer,
    healthy: report.healthy,
    decision: decision.kind,
  });
  return { accepted: true, decision: decision.kind };
}
