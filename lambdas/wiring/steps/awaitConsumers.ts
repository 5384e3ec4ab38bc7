import { awaitConsumers } from '#core/steps/awaitConsumers.js';
import type { StepBody, WorkflowState } from '../stepHandler.js';

/** Registers the task token of the wait for the consumers (or answers it at once). */
export const AwaitConsumers = (async (deps, payload) => awaitConsumers(deps, payload)) satisfies StepBody<
  WorkflowState,
  unknown
>;
