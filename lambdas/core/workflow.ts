import * as z from 'zod';
import { FleetRunNameSchema } from './fleetRotation.js';
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
  /** The fleet run that started it (`rotator rotate --all | --selector`): kept on its rotation record. */
  fleetRun: FleetRunNameSchema.optional(),
});
export type WorkflowInput = z.infer<typeof WorkflowInputSchema>;
