import { createHash } from 'node:crypto';
import * as z from 'zod';
import { CANCELLATION_REASONS, COMPLETION_REASONS } from './events.js';
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
import { ON_DEADLINE } from './policy.js';
import { WorkflowInputSchema } from './workflow.js';

/**
 * The data that flows through the state machine, state by state. Everything here ends up in the
 * execution history, so none of it is secret: ids, last-four characters, timestamps, the policy.
 */

/** What StartRotation returns and every later step reads (`$.rotation`). */
export const RotationContextSchema = z.strictObject({
  rotationId: RotationIdSchema,
  executionId: z.string().min(1).max(2048),
  clientId: ClientIdSchema,
  clientKind: ClientKindSchema,
  trigger: TriggerSchema,
  reason: NoteSchema.optional(),
  requestedBy: NoteSchema.optional(),
  secretId: z.string().min(1).max(2048),
  pendingVersionId: RotationIdSchema,
  pendingLastFour: LastFourSchema,
  previousLastFour: LastFourSchema,
  startedAt: TimestampSchema,
  deadline: TimestampSchema,
  policy: z.strictObject({
    onDeadline: z.enum(ON_DEADLINE),
    deadlineSeconds: z.number().int().positive(),
    expectedConsumers: z.array(ConsumerNameSchema),
  }),
  /**
   * The wait, when StartRotation decided it with the write that stored the pending secret (no
   * consumer expected): the workflow then goes from PublishPending to CompleteRotation with this
   * reason, and keeps no task token.
   */
  decided: z.strictObject({ reason: z.enum(COMPLETION_REASONS) }).optional(),
});
export type RotationContext = z.infer<typeof RotationContextSchema>;

/** A Catch's `$.error`: Step Functions' `{Error, Cause}`. */
export const CaughtErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });
export type CaughtError = z.infer<typeof CaughtErrorSchema>;

/** Input of StartRotation: the execution input and the execution's id (from `$$.Execution.Id`). */
export const StartInputSchema = z.object({
  input: z.unknown(),
  executionId: z.string().min(1).max(2048),
});

/** Input of PublishPending. */
export const PublishPendingInputSchema = z.object({ rotation: RotationContextSchema });

/** Input of the AwaitConsumers task (`$$.Task.Token` beside the context). */
export const AwaitConsumersInputSchema = z.object({
  taskToken: z.string().min(1),
  rotation: RotationContextSchema,
});

/** What the wait resolves with on success (SendTaskSuccess output, `$.await`). */
export const AwaitResultSchema = z.strictObject({ reason: z.enum(COMPLETION_REASONS) });
export type AwaitResult = z.infer<typeof AwaitResultSchema>;

/** Input of CompleteRotation. */
export const CompleteInputSchema = z.object({
  rotation: RotationContextSchema,
  completion: z.object({ reason: z.enum(COMPLETION_REASONS) }),
});

/**
 * Input of CancelRotation. `rotation` is missing when StartRotation failed before it could
 * describe the rotation; the step then works from the execution input and id alone.
 */
export const CancelInputSchema = z.object({
  input: z.unknown(),
  executionId: z.string().min(1).max(2048),
  rotation: RotationContextSchema.optional(),
  error: CaughtErrorSchema.optional(),
  cancellation: z.object({ reason: z.enum(CANCELLATION_REASONS) }),
});

/** Input of RecordFailure: what failed, and where. */
export const RecordFailureInputSchema = z.object({
  input: z.unknown(),
  executionId: z.string().min(1).max(2048),
  rotation: RotationContextSchema.optional(),
  error: CaughtErrorSchema,
  failedState: z.string().min(1).max(80),
});

/** The outcome a terminal step returns (`$.outcome`). */
export const OutcomeSchema = z.strictObject({
  outcome: z.enum(['completed', 'cancelled', 'failed']),
  reason: z.string(),
  rotationId: RotationIdSchema,
  clientId: ClientIdSchema,
});
export type Outcome = z.infer<typeof OutcomeSchema>;

export { WorkflowInputSchema };

/**
 * The rotation id of an execution: a UUID derived from the execution id, so every retry of
 * every step of one execution agrees on it without storing it first (and it can serve as the
 * AWSPENDING version id, making a retried store a no-op).
 */
export function rotationIdFor(executionId: string): string {
  const hex = createHash('sha256').update(`stytch-m2m-rotator:${executionId}`).digest('hex');
  // RFC 9562 version 8 (custom) UUID layout: version nibble 8, variant bits 10.
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Parses a Catch's `Cause` into a message. On AWS a Lambda error's Cause is a JSON string
 * `{"errorType","errorMessage",...}`; elsewhere it may be the bare message.
 */
export function causeMessage(error: CaughtError | undefined): string | undefined {
  if (error?.Cause === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(error.Cause);
    if (typeof parsed === 'object' && parsed !== null && 'errorMessage' in parsed) {
      return String(parsed.errorMessage);
    }
  } catch {
    // Not JSON: the bare message.
  }
  return error.Cause;
}
