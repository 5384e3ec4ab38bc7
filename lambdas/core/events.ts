import * as z from 'zod';
import { FingerprintSchema } from './fingerprint.js';
import {
  ClientIdSchema,
  ClientKindSchema,
  ConsumerNameSchema,
  LastFourSchema,
  NoteSchema,
  RotationIdSchema,
  TimestampSchema,
  TriggerSchema,
} from './model.js';
import { RevocationRecordSchema } from './tokenRevocation.js';

/**
 * The events the rotator publishes and consumes, by EventBridge `detail-type`. Every detail is a
 * strict object: an unknown key is an error, which is also what keeps a secret from riding along
 * in a field nobody looks at. None of them carries a secret: last-four characters and version
 * ids only.
 */

/** `source` of every event the rotator's own functions publish. */
export const ROTATOR_EVENT_SOURCE = 'stytch-m2m-rotator';

/**
 * Who may say what on the bus is decided by the envelope `source`, and IAM decides who may use
 * which `source` (the `events:source` condition): the trust boundary of issue 13.
 * - `rotator`: the stack's own functions (lifecycle events, a preemption's re-published leak);
 * - `githubWebhook`: the GitHub secret-scanning webhook (leak reports by fingerprint);
 * - `operator`: principals holding the stack's operator grant (`rotator leak report`,
 *   `emergency`; the person goes in `detail.requestedBy`);
 * - `consumerPrefix` + consumer name: a consumer's own health reports, the name bound to the
 *   caller's principal tag {@link CONSUMER_PRINCIPAL_TAG} (or a per-consumer grant).
 * Scanners the deployment config names report leaks under their own `source`, by fingerprint.
 */
export const EVENT_SOURCES = {
  rotator: ROTATOR_EVENT_SOURCE,
  githubWebhook: 'stytch-m2m-rotator.github-webhook',
  operator: 'stytch-m2m-rotator.operator',
  consumerPrefix: 'stytch-m2m-rotator.consumer.',
} as const;

/** The IAM principal tag whose value is the consumer name a role (or sandbox user) reports as. */
export const CONSUMER_PRINCIPAL_TAG = 'rotator-consumer';

/** The `source` consumer `name` publishes its health reports with. */
export function consumerSource(name: string): string {
  return `${EVENT_SOURCES.consumerPrefix}${name}`;
}

/** The consumer a `source` speaks for, or null when it is not a consumer source. */
export function consumerOfSource(source: unknown): string | null {
  if (typeof source !== 'string' || !source.startsWith(EVENT_SOURCES.consumerPrefix)) return null;
  const name = source.slice(EVENT_SOURCES.consumerPrefix.length);
  return name === '' ? null : name;
}

/** The longest envelope `source` EventBridge accepts, and the most of one the rotator keeps. */
export const MAX_EVENT_SOURCE_LENGTH = 256;

// What survives of a `source` the rotator stores or logs: what real sources are made of (reverse
// DNS, `aws.`, `cli:` prefixes). No control or format characters, nothing a terminal acts on.
const NOT_SOURCE_CHARACTERS = /[^A-Za-z0-9._:/@+=-]/g;

/**
 * An envelope `source` as the rotator may store or log it: every character outside the set real
 * sources use becomes `?`, and it is cut to {@link MAX_EVENT_SOURCE_LENGTH}. `(none)` when the
 * event carried no source at all (a direct invocation).
 */
export function boundedSource(source: unknown): string {
  if (typeof source !== 'string' || source === '') return '(none)';
  return source.slice(0, MAX_EVENT_SOURCE_LENGTH).replace(NOT_SOURCE_CHARACTERS, '?');
}

/** Why a completed rotation completed. */
export const COMPLETION_REASONS = [
  'all_consumers_healthy',
  'no_consumers_expected',
  'deadline_fail_secure',
  'leak_escalated',
  'leak_fail_secure',
] as const;
/** Why a cancelled rotation was cancelled. */
export const CANCELLATION_REASONS = [
  'consumer_unhealthy',
  'deadline_fail_safe',
  'error',
  'operator',
  'leak_of_pending',
] as const;

const RotationRef = {
  rotationId: RotationIdSchema,
  clientId: ClientIdSchema,
  clientKind: ClientKindSchema,
  trigger: TriggerSchema,
};

export const RotationStartedDetailSchema = z.strictObject({
  ...RotationRef,
  reason: NoteSchema.optional(),
  requestedBy: NoteSchema.optional(),
  startedAt: TimestampSchema,
});

export const RotationPendingDetailSchema = z.strictObject({
  ...RotationRef,
  /** The Secrets Manager secret consumers read (name or ARN). */
  secretId: z.string().min(1).max(2048),
  pendingVersionId: RotationIdSchema,
  pendingLastFour: LastFourSchema,
  currentLastFour: LastFourSchema,
  deadline: TimestampSchema,
  expectedConsumers: z.array(ConsumerNameSchema).max(100),
});

export const ConsumerHealthReportedDetailSchema = z.strictObject({
  clientId: ClientIdSchema,
  rotationId: RotationIdSchema,
  pendingVersionId: RotationIdSchema,
  consumer: ConsumerNameSchema,
  healthy: z.boolean(),
  detail: z.string().max(1000).optional(),
});

export const RotationCompletedDetailSchema = z.strictObject({
  ...RotationRef,
  reason: z.enum(COMPLETION_REASONS),
  currentVersionId: RotationIdSchema,
  currentLastFour: LastFourSchema,
  previousLastFour: LastFourSchema,
  completedAt: TimestampSchema,
  durationMs: z.number().int().nonnegative(),
});

export const RotationCancelledDetailSchema = z.strictObject({
  ...RotationRef,
  reason: z.enum(CANCELLATION_REASONS),
  detail: z.string().max(1000).optional(),
  cancelledAt: TimestampSchema,
  durationMs: z.number().int().nonnegative(),
});

export const RotationFailedDetailSchema = z.strictObject({
  ...RotationRef,
  /** The state that failed and could not be undone (e.g. `CancelRotation`). */
  state: z.string().min(1).max(80),
  error: z.strictObject({ name: z.string().max(200), message: z.string().max(1000) }),
  failedAt: TimestampSchema,
});

/**
 * A leak alert from any scanner or a responder. The client is named by id, or by the keyed
 * fingerprint of the leaked value (never the value itself).
 * - `source`: the reporter's own name for itself, audit text (`github-secret-scanning`,
 *   `rotator-cli`, a scanner's name). Who is speaking is the envelope `source` (see
 *   {@link EVENT_SOURCES}), which IAM vouches for; this one nobody does.
 * - `requestedBy`: the person behind an operator's report (`cli:<user>`), bounded and scrubbed
 *   like `source`. The leak intake makes it the leak rotation's `requestedBy` when the envelope
 *   says an operator (or the rotator) sent the event; from anyone else it is ignored.
 */
export const SecretLeakDetectedDetailSchema = z
  .strictObject({
    clientId: ClientIdSchema.optional(),
    fingerprint: FingerprintSchema.optional(),
    source: z.string().min(1).max(100),
    requestedBy: z.string().min(1).max(100).optional(),
    reference: z.string().max(2048).optional(),
    detectedAt: TimestampSchema.optional(),
  })
  .refine((detail) => detail.clientId !== undefined || detail.fingerprint !== undefined, {
    message: 'needs clientId or fingerprint',
    path: ['clientId'],
  });

/**
 * An operator's request to revoke a client's tokens (`rotator revoke-tokens`), accepted from the
 * operator source only. `before`: tokens issued before it are refused (default: when the request
 * is handled; a time in the future is taken as that moment). `note` and `requestedBy` are audit
 * text; neither goes into the record.
 */
export const TokenRevocationRequestedDetailSchema = z.strictObject({
  clientId: ClientIdSchema,
  before: TimestampSchema.optional(),
  note: NoteSchema.optional(),
  requestedBy: z.string().min(1).max(100).optional(),
});

/** Every event's `detail-type` and the schema of its `detail`. */
export const EVENT_SCHEMAS = {
  'Rotation Started': RotationStartedDetailSchema,
  'Rotation Pending': RotationPendingDetailSchema,
  'Consumer Health Reported': ConsumerHealthReportedDetailSchema,
  'Rotation Completed': RotationCompletedDetailSchema,
  'Rotation Cancelled': RotationCancelledDetailSchema,
  'Rotation Failed': RotationFailedDetailSchema,
  'Secret Leak Detected': SecretLeakDetectedDetailSchema,
  'Token Revocation Requested': TokenRevocationRequestedDetailSchema,
  /** A client's token revocation record as the document now holds it (docs/token-revocation.md). */
  'Client Tokens Revoked': RevocationRecordSchema,
} as const;

export type EventDetailType = keyof typeof EVENT_SCHEMAS;
export type EventDetail<T extends EventDetailType> = z.infer<(typeof EVENT_SCHEMAS)[T]>;
export type RotationStartedDetail = EventDetail<'Rotation Started'>;
export type RotationPendingDetail = EventDetail<'Rotation Pending'>;
export type ConsumerHealthReportedDetail = EventDetail<'Consumer Health Reported'>;
export type RotationCompletedDetail = EventDetail<'Rotation Completed'>;
export type RotationCancelledDetail = EventDetail<'Rotation Cancelled'>;
export type RotationFailedDetail = EventDetail<'Rotation Failed'>;
export type SecretLeakDetectedDetail = EventDetail<'Secret Leak Detected'>;
export type TokenRevocationRequestedDetail = EventDetail<'Token Revocation Requested'>;
export type ClientTokensRevokedDetail = EventDetail<'Client Tokens Revoked'>;

/** An event ready for the bus: its type and its validated detail. */
export interface RotatorEvent<T extends EventDetailType = EventDetailType> {
  readonly detailType: T;
  readonly detail: EventDetail<T>;
}

/**
 * The part of Step Functions' own `Step Functions Execution Status Change` event (source
 * `aws.states`, default bus) the execution reconciler reads. `input` is the execution input as a
 * JSON string (null when it exceeds the event's size limit).
 */
export const ExecutionStatusChangeSchema = z.object({
  executionArn: z.string().min(1).max(2048),
  status: z.string().min(1).max(32),
  input: z.string().nullable().optional(),
});
