import { AsyncLocalStorage } from 'node:async_hooks';
import { type HeldCredits, noHeldCredits } from '#core/rateBudget.js';

/*
 * Whether the invocation in progress serves a leak: its Stytch requests and secret writes may use
 * the part of the shared budget that scheduled, manual and fleet rotations leave free
 * (core/rateBudget.ts, reservedForUrgent), so a leaked secret dies in minutes even while a fleet
 * rotates. Known from the event the step gets: the execution input (StartRotation, and
 * CancelRotation before a rotation was described) or the rotation context (every later step).
 */

/** What one invocation knows of itself: whether it serves a leak, and the budget it bought. */
interface Invocation {
  readonly urgent: boolean;
  readonly credits: HeldCredits;
}

const invocation = new AsyncLocalStorage<Invocation>();

/** Whether the step's event belongs to a leak-triggered rotation. */
export function servesLeak(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const { rotation, input } = event as { rotation?: { trigger?: unknown }; input?: { trigger?: unknown } };
  return rotation?.trigger === 'leak' || input?.trigger === 'leak';
}

/**
 * Runs `body` as one invocation: the urgency of `event` known to {@link isUrgent} throughout, and a
 * holding of its own for the budget it buys ({@link invocationCredits}).
 */
export function withUrgencyOf<R>(event: unknown, body: () => Promise<R>): Promise<R> {
  return invocation.run({ urgent: servesLeak(event), credits: noHeldCredits() }, body);
}

/** Whether the code running now serves a leak (false outside any step). */
export function isUrgent(): boolean {
  return invocation.getStore()?.urgent === true;
}

/**
 * The budget the invocation running now bought and has not used (undefined outside any step): a
 * step's bundle is its own, even where one process runs many steps at once (the sandbox).
 */
export function invocationCredits(): HeldCredits | undefined {
  return invocation.getStore()?.credits;
}
