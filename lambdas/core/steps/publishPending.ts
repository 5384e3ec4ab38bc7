import type { StepDeps } from '../deps.js';
import { PublishPendingInputSchema, type RotationContext } from '../state.js';
import { parseOrThrow } from '../validate.js';

/**
 * Step 2, PublishPending: tell consumers to pick up the pending secret now rather than at their
 * next cache expiry. It writes nothing: the ledger counts a consumer's report from the moment the
 * pending secret is stored (status `started`), so a consumer that reacts at once is not turned
 * away, and AwaitConsumers marks the rotation `pending` in the write that keeps its task token.
 */
export async function publishPending(deps: StepDeps, raw: unknown): Promise<RotationContext> {
  const { rotation } = parseOrThrow(PublishPendingInputSchema, raw, 'PublishPending input');
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
