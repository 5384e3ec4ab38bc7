import { handleLeak } from '#core/leakIntake.js';
import type { StepBody } from '../stepHandler.js';

/** What the leak intake reads of a `Secret Leak Detected` event. */
export type LeakEvent = { id?: unknown; source?: unknown; detail?: unknown };

/**
 * The leak intake: an EventBridge target receiving `Secret Leak Detected` events. The envelope
 * `source` (who sent it, as IAM vouches) decides whether a report by client id is accepted.
 */
export const LeakIntake = (async (deps, event: LeakEvent) =>
  handleLeak(deps, { id: event.id, source: event.source, detail: event.detail })) satisfies StepBody<
  LeakEvent,
  unknown
>;
