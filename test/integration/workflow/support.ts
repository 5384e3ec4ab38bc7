import { setTimeout as sleep } from 'node:timers/promises';
import type { RotatorEvent } from '#core/events.js';
import type { World } from './harness.js';

/** Waits until the world has published an event of `detailType` (for `clientId`), and returns it. */
export async function waitForEvent(
  world: World,
  detailType: RotatorEvent['detailType'],
  clientId: string,
  timeoutMs = 20_000,
): Promise<RotatorEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = world.events.find(
      (event) =>
        event.detailType === detailType && (event.detail as { clientId?: string }).clientId === clientId,
    );
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no ${detailType} event for ${clientId} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The `Consumer Health Reported` detail a consumer sends for the pending rotation of `pending`. */
export function healthReport(pending: RotatorEvent, consumer: string, healthy: boolean, detail?: string) {
  const d = pending.detail as { clientId: string; rotationId: string; pendingVersionId: string };
  return {
    clientId: d.clientId,
    rotationId: d.rotationId,
    pendingVersionId: d.pendingVersionId,
    consumer,
    healthy,
    ...(detail === undefined ? {} : { detail }),
  };
}

/** Parses an execution's output JSON. */
export function outputOf(description: { output?: string | undefined }): unknown {
  return description.output === undefined ? undefined : JSON.parse(description.output);
}
