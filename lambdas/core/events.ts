import { z } from 'zod';
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

/**
 * The events the rotator publishes and consumes, by EventBridge `detail-type`. Every detail is a
 * strict object: an unknown key is an error, which is also what keeps a secret from riding along
 * in a field nobody looks at. None of them carries a secret: last-four characters and version
 * ids only.
 */

/** `source` of every event the rotator itself publishes. */
export const ROTATOR_EVENT_SOURCE = 'stytch-m2m-rotator';

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
 */
export const SecretLeakDetectedDetailSchema = z
  .strictObject({
    clientId: ClientIdSchema.optional(),
    fingerprint: FingerprintSchema.optional(),
    source: z.string().min(1).max(100),
    reference: z.string().max(2048).optional(),
    detectedAt: TimestampSchema.optional(),
  })
  .refine((detail) => detail.clientId !== undefined || detail.fingerprint !== undefined, {
    message: 'needs clientId or fingerprint',
    path: ['clientId'],
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
