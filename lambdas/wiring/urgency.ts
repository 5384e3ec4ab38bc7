import { AsyncLocalStorage } from 'node:async_hooks';

/*
 * Whether the invocation in progress serves a leak: its Stytch requests and secret writes may use
 * the part of the shared budget that scheduled, manual and fleet rotations leave free
 * (core/rateBudget.ts, reservedForUrgent), so a leaked secret dies in minutes even while a fleet
 * rotates. Known from the event the step gets: the execution input (StartRotation, and
 * CancelRotation before a rotation was described) or the rotation context (every later step).
 */

const urgency = new AsyncLocalStorage<boolean>();

/** Whether the step's event belongs to a leak-triggered rotation. */
export function servesLeak(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const { rotation, input } = event as { rotation?: { trigger?: unknown }; input?: { trigger?: unknown } };
  return rotation?.trigger === 'leak' || input?.trigger === 'leak';
}

/** Runs `body` with the urgency of `event` known to {@link isUrgent} throughout. */
export function withUrgencyOf<R>(event: unknown, body: () => Promise<R>): Promise<R> {
  return urgency.run(servesLeak(event), body);
}

/** Whether the code running now serves a leak (false outside any step). */
export function isUrgent(): boolean {
  return urgency.getStore() === true;
}
