import type { StepDeps } from '../deps.js';
import { ClientIdSchema, TriggerSchema } from '../model.js';
import { causeMessage, type Outcome, RecordFailureInputSchema, rotationIdFor } from '../state.js';
import { parseOrThrow } from '../validate.js';

/**
 * Step 7 (failure): a step that should have ended the rotation could not (cancel failed, or
 * complete failed in a way cancel must not undo). Records it and announces `Rotation Failed`.
 * The lock is kept until it expires: a rotation that left Stytch and Secrets Manager unsure
 * should not be piled on; the next one recovers through StartRotation's rule.
 */
export async function recordFailure(deps: StepDeps, raw: unknown): Promise<Outcome> {
  const parsed = parseOrThrow(RecordFailureInputSchema, raw, 'RecordFailure input');
  const rotationId = parsed.rotation?.rotationId ?? rotationIdFor(parsed.executionId);
  const rawInput = (typeof parsed.input === 'object' && parsed.input !== null ? parsed.input : {}) as Record<
    string,
    unknown
  >;
  const clientId = parsed.rotation?.clientId ?? ClientIdSchema.safeParse(rawInput.clientId).data ?? 'unknown';
  const message = (causeMessage(parsed.error) ?? parsed.error.Error).slice(0, 1000);
  const now = deps.clock.now();

  const record = clientId === 'unknown' ? null : await deps.ledger.getRotation(clientId, rotationId);
  if (record !== null) {
    await deps.ledger.updateRotation(clientId, rotationId, {
      status: 'failed',
      error: { name: parsed.error.Error, message },
      steps: { failed: now.toISOString() },
    });
  }
  const kind = parsed.rotation?.clientKind ?? record?.clientKind ?? (await deps.clients.find(clientId))?.kind;
  const trigger = parsed.rotation?.trigger ?? TriggerSchema.safeParse(rawInput.trigger).data;
  if (kind !== undefined && trigger !== undefined) {
    await deps.events.publish({
      detailType: 'Rotation Failed',
      detail: {
        rotationId,
        clientId,
        clientKind: kind,
        trigger,
        state: parsed.failedState,
        error: { name: parsed.error.Error.slice(0, 200), message },
        failedAt: now.toISOString(),
      },
    });
    // Counted right after `Rotation Failed` goes out, the step's last call that can fail (see
    // completeRotation): once per end, unless the Lambda dies before returning. The reason is the
    // failed state: low cardinality, a state name, never an error message.
    const startedAt = parsed.rotation?.startedAt ?? record?.steps.started;
    deps.metrics.rotationEnded({
      trigger,
      outcome: 'failed',
      reason: parsed.failedState,
      durationMs: startedAt === undefined ? 0 : Math.max(0, now.getTime() - Date.parse(startedAt)),
    });
  }
  deps.logger.warn('Rotation failed', {
    clientId,
    rotationId,
    state: parsed.failedState,
    error: parsed.error.Error,
  });
  return { outcome: 'failed', reason: parsed.error.Error, rotationId, clientId };
}
