import { answerWaitIfDecided, type WaitDecision } from '../decision.js';
import type { StepDeps } from '../deps.js';
import { AwaitConsumersInputSchema } from '../state.js';
import { parseOrThrow } from '../validate.js';

/**
 * Step 3, AwaitConsumers (the `.waitForTaskToken` task): keep the task token with the rotation,
 * then answer at once if the reports already decide it (no consumers expected, or reports that
 * arrived before the token did). Otherwise the health aggregator answers later, or the deadline
 * passes.
 */
export async function awaitConsumers(
  deps: StepDeps,
  raw: unknown,
): Promise<{ decision: WaitDecision['kind'] }> {
  const { taskToken, rotation } = parseOrThrow(AwaitConsumersInputSchema, raw, 'AwaitConsumers input');
  const record = await deps.ledger.updateRotation(rotation.clientId, rotation.rotationId, {
    taskToken,
    steps: { awaiting: deps.clock.now().toISOString() },
  });
  const decision = await answerWaitIfDecided(deps, record);
  deps.logger.info('Awaiting consumers', {
    clientId: rotation.clientId,
    rotationId: rotation.rotationId,
    expectedConsumers: rotation.policy.expectedConsumers,
    decision: decision.kind,
  });
  return { decision: decision.kind };
}
