import * as z from 'zod';
import { ClientIdSchema, NoteSchema, TriggerSchema } from './model.js';

/**
 * The state machine's input, as EventBridge Scheduler, the leak rule and the CLI send it.
 * Strict: a misspelt key is an error at the first state, not a silently ignored option.
 */
export const WorkflowInputSchema = z.strictObject({
  clientId: ClientIdSchema,
  trigger: TriggerSchema,
  reason: NoteSchema.optional(),
  requestedBy: NoteSchema.optional(),
});
export type WorkflowInput = z.infer<typeof WorkflowInputSchema>;
