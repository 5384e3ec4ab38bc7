import { answerWaitIfDecided, decideFromContext, sendAnswer, type WaitDecision } from '../decision.js';
import type { StepDeps } from '../deps.js';
import type { RotationPatch } from '../ports.js';
import { AwaitConsumersInputSchema } from '../state.js';
import { parseOrThrow } from '../validate.js';

/**
 * Step 3, AwaitConsumers (the `.waitForTaskToken` task): mark the rotation pending (PublishPending
 * left that write to this one) and keep the task token with it, then answer at once if the wait is
 * already decided (no consumers expected, a leak escalated it, or reports that arrived before the
 * token did). Otherwise the health aggregator answers later, or the deadline passes.
 *
 * When no consumer is expected the step's own input decides the wait: the token, the pending mark
 * and the waiter's claim of the decision are one conditional write, made only while the record
 * decides it the same way; when the record says otherwise (a leak escalated it, a retry of this
 * step finds its claim made) the separate writes settle it. The task is answered with a callback
 * either way: the state machine's contract (`.waitForTaskToken`) ignores what this Lambda returns.
 */
export async function awaitConsumers(
  deps: StepDeps,
  raw: unknown,
): Promise<{ decision: WaitDecision['kind'] }> {
  const { taskToken, rotation } = parseOrThrow(AwaitConsumersInputSchema, raw, 'AwaitConsumers input');
  const now = deps.clock.now().toISOString();
  const patch: RotationPatch = { status: 'pending', taskToken, steps: { pending: now, awaiting: now } };
  const decided = decideFromContext(rotation.policy.expectedConsumers);
  let decision: WaitDecision;
  if (
    decided !== null &&
    (await deps.ledger.keepTokenAndClaim(rotation.clientId, rotation.rotationId, patch, now, decided.answer))
  ) {
    await sendAnswer(deps.callbacks, taskToken, decided.answer);
    decision = decided.decision;
  } else {
    const record = await deps.ledger.updateRotation(rotation.clientId, rotation.rotationId, patch);
    decision = await answerWaitIfDecided(deps, record, { asWaiter: true });
  }
  deps.logger.info('Awaiting consumers', {
    clientId: rotation.clientId,
    rotationId: rotation.rotationId,
    expectedConsumers: rotation.policy.expectedConsumers,
    decision: decision.kind,
  });
  return { decision: decision.kind };
}
