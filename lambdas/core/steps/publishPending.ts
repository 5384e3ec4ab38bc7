import type { StepDeps } from '../deps.js';
import { PublishPendingInputSchema, type RotationContext } from '../state.js';
import { parseOrThrow } from '../validate.js';

/**
 * Step 2, PublishPending: mark the rotation pending (from now on consumer reports count) and
 * tell consumers to pick up the pending secret now rather than at their next cache expiry.
 * Marking comes first, so a consumer that reacts at once is not turned away.
 */
export async function publishPending(deps: StepDeps, raw: unknown): Promise<RotationContext> {
  const { rotation } = parseOrThrow(PublishPendingInputSchema, raw, 'PublishPending input');
  await deps.ledger.updateRotation(rotation.clientId, rotation.rotationId, {
    status: 'pending',
    steps: { pending: deps.clock.now().toISOString() },
  });
  await deps.events.publish({
    detailType: 'Rotation Pending',
    detail: {
      rotationId: rotation.rotationId,
      clientId: rotation.clientId,
      clientKind: rotation.clientKind,
      trigger: rotation.trigger,
      secretId: rotation.secretId,
      pendingVersionId: rotation.pendingVersionId,
      pendingLastFour: rotation.pendingLastFour,
      currentLastFour: rotation.previousLastFour,
      deadline: rotation.deadline,
      expectedConsumers: rotation.policy.expectedConsumers,
    },
  });
  return rotation;
}
