import type { RotatorEvent } from './events.js';
import type { RotationRecord } from './ports.js';

/** `source` of the `Secret Leak Detected` events the rotator sends itself to finish a preemption. */
export const PREEMPTION_SOURCE = 'stytch-m2m-rotator/preemption';

/**
 * The leak a preempted rotation leaves unanswered when it ends, as the event that answers it: a
 * new `Secret Leak Detected` for the client, which the leak intake turns into a leak rotation now
 * that the lock is free. Null when the ending itself answered the leak.
 *
 * - a leaked pending secret (`escalatedCancel`): the rotation is cancelled, then a new leak
 *   rotation starts (and if it completed instead, having lost the race, the leaked secret is now
 *   current: all the more reason);
 * - a leaked current secret (`escalatedComplete`): completing answered it; a cancel (decided
 *   before the leak arrived) did not, so the current secret still needs revoking.
 */
export function unansweredLeak(
  record: RotationRecord,
  outcome: 'completed' | 'cancelled',
  at: string,
): RotatorEvent<'Secret Leak Detected'> | null {
  const pendingLeaked = record.escalatedCancel !== undefined;
  const currentLeakedAndKept = record.escalatedComplete !== undefined && outcome === 'cancelled';
  if (!pendingLeaked && !currentLeakedAndKept) return null;
  return {
    detailType: 'Secret Leak Detected',
    detail: {
      clientId: record.clientId,
      source: PREEMPTION_SOURCE,
      reference: `rotation ${record.rotationId} ${outcome} while a leak was pending`,
      detectedAt: at,
    },
  };
}
