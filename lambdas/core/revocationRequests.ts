import * as z from 'zod';
import { RotatorError } from './errors.js';
import {
  boundedSource,
  EVENT_SOURCES,
  RotationCancelledDetailSchema,
  RotationCompletedDetailSchema,
  TokenRevocationRequestedDetailSchema,
} from './events.js';
import { type RevocationRecord, revocationFor } from './tokenRevocation.js';

/**
 * Which bus events call for a token revocation record, and the record each calls for: a leak
 * rotation's `Rotation Completed` (from the rotator) and an operator's `Token Revocation
 * Requested` (from the operator source). The rule delivers nothing else; the checks here hold
 * even if a rule is widened by mistake.
 */

/** An event the publisher cannot act on (its type, source or detail). Permanent. */
export class RevocationRequestError extends RotatorError {
  public constructor(message: string) {
    super(message);
    this.name = 'RevocationRequestError';
  }
}

// Nothing a terminal or a log viewer acts on survives in the operator's note.
const CONTROL_CHARACTERS = /[\p{Cc}\p{Cf}]/gu;

const EnvelopeSchema = z.object({
  'detail-type': z.string().max(128),
  source: z.string().max(256),
  detail: z.unknown(),
});

/** What an event asks for: the record, or nothing (with why, for the log). */
export type RevocationDecision =
  | { readonly record: RevocationRecord; readonly requestedBy?: string; readonly note?: string }
  | { readonly record: null; readonly why: string };

/**
 * The record `event` calls for at `now`. A leak rotation's cutoff is its completion, as is that of a
 * rotation a leak of its current secret completed at once (`leak_escalated`) (the old
 * secret was proven dead by then); an operator's is `before`, or `now` when it is absent or later
 * (a future cutoff would refuse tokens the new secret mints).
 * @throws {RevocationRequestError} when the event is not one of the two from its own source, or
 * its detail fails the schema (issues name paths and codes only)
 */
export function revocationOfEvent(event: unknown, now: Date): RevocationDecision {
  const envelope = EnvelopeSchema.safeParse(event);
  if (!envelope.success) throw new RevocationRequestError('Not an EventBridge event');
  const { 'detail-type': detailType, source, detail } = envelope.data;
  if (detailType === 'Rotation Completed' && source === EVENT_SOURCES.rotator) {
    const completed = parseDetail(RotationCompletedDetailSchema, detail, detailType);
    // A leak that preempted a rotation in progress completed it at once (`leak_escalated`): its
    // completion killed the leaked current secret as a leak rotation's would.
    if (completed.trigger !== 'leak' && completed.reason !== 'leak_escalated')
      return { record: null, why: `a ${completed.trigger} rotation` };
    return {
      record: revocationFor({
        clientId: completed.clientId,
        before: new Date(completed.completedAt),
        rotationId: completed.rotationId,
        reason: 'leak_rotation',
      }),
    };
  }
  if (detailType === 'Rotation Cancelled' && source === EVENT_SOURCES.rotator) {
    // A leak of the pending secret cancels the rotation: the leaked secret is dead once it is
    // cancelled, and tokens minted with it are refused from then, not only once the follow-up
    // leak rotation completes (which moves the cutoff forward again).
    const cancelled = parseDetail(RotationCancelledDetailSchema, detail, detailType);
    if (cancelled.reason !== 'leak_of_pending')
      return { record: null, why: `a cancellation (${cancelled.reason})` };
    return {
      record: revocationFor({
        clientId: cancelled.clientId,
        before: new Date(cancelled.cancelledAt),
        rotationId: cancelled.rotationId,
        reason: 'leak_rotation',
      }),
    };
  }
  if (detailType === 'Token Revocation Requested' && source === EVENT_SOURCES.operator) {
    const request = parseDetail(TokenRevocationRequestedDetailSchema, detail, detailType);
    const asked = request.before === undefined ? now : new Date(request.before);
    return {
      record: revocationFor({
        clientId: request.clientId,
        before: asked.getTime() > now.getTime() ? now : asked,
        rotationId: null,
        reason: 'operator',
      }),
      ...(request.requestedBy === undefined ? {} : { requestedBy: boundedSource(request.requestedBy) }),
      ...(request.note === undefined ? {} : { note: request.note.replace(CONTROL_CHARACTERS, '?') }),
    };
  }
  throw new RevocationRequestError(
    `A token revocation is not made from ${JSON.stringify(detailType.slice(0, 64))} sent by ${boundedSource(source)}`,
  );
}

function parseDetail<S extends z.ZodType>(schema: S, detail: unknown, detailType: string): z.infer<S> {
  const parsed = schema.safeParse(detail);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.')}: ${issue.code}`);
    throw new RevocationRequestError(`Malformed ${detailType} event: ${issues.join('; ')}`);
  }
  return parsed.data;
}
