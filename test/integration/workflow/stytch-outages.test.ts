import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteSelector } from '#sandbox/stytch-emulator/index.js';
import { createWorld, type World } from './harness.js';
import { healthReport, outputOf } from './support.js';

/**
 * A Stytch outage of any length, at each step: every call to the route fails (503) for longer than
 * every retry budget, so the execution ends however it can. Once Stytch is back, the client
 * converges: the next rotation completes and Stytch and Secrets Manager agree.
 */
type When = 'before the start' | 'at completion' | 'at cancellation';
const OUTAGES: readonly (readonly [RouteSelector, When])[] = [
  ['m2m.secrets.rotateStart', 'before the start'],
  ['m2m.clients.get', 'before the start'],
  ['oauth2.token', 'before the start'],
  ['*', 'before the start'],
  ['m2m.secrets.rotate', 'at completion'],
  ['*', 'at completion'],
  ['m2m.secrets.rotateCancel', 'at cancellation'],
  ['*', 'at cancellation'],
];

const clientFor = (index: number) => `m2m-client-test-outage-${index}`;

describe('Scenario: Stytch is out at each step, for longer than any retry', () => {
  let world: World;

  beforeAll(async () => {
    // Under the real-Stytch modes: changes reach the token endpoint late, and a wrong secret is
    // refused with another OAuth error value than `invalid_client`.
    world = await createWorld(
      OUTAGES.map((_, index) => ({ clientId: clientFor(index), policy: { expectedConsumers: ['api'] } })),
      {
        emulator: {
          modes: {
            consistencyDelay: { startMs: 100, completeMs: 100, cancelMs: 100 },
            tokenRefusal: { error: 'invalid_grant', status: 400 },
          },
        },
      },
    );
  }, 120_000);
  afterAll(() => world?.stop());

  it.each(OUTAGES.map(([route, when], index) => [route, when, index] as const))(
    'an outage of %s %s converges once Stytch is back',
    async (route, when, index) => {
      // Prepare
      const clientId = clientFor(index);
      const pendingSeen = world.events.filter(
        (e) => e.detailType === 'Rotation Pending' && e.detail.clientId === clientId,
      ).length;
      const outage = () => world.emulator.faults.setRouteFault(route, { errorRate: 1, status: 503 });
      if (when === 'before the start') outage();

      // Act: the rotation meets the outage and ends however it can
      const { executionArn } = world.executor.startExecution({ input: { clientId, trigger: 'schedule' } });
      const pending = await nextPending(world, clientId, pendingSeen, executionArn);
      if (pending !== null) {
        if (when !== 'before the start') outage();
        await world.report(healthReport(pending, 'api', when !== 'at cancellation'));
      }
      const ended = await world.executor.waitForExecution(executionArn);
      await world.reconciled();
      world.emulator.faults.clear();

      // Assess: whatever it ended as, it never cancelled a secret readers use, and the next
      // rotation (with Stytch back) completes
      expect(['SUCCEEDED', 'FAILED']).toContain(ended.status);
      const { executionArn: next } = world.executor.startExecution({
        input: { clientId, trigger: 'manual' },
      });
      const nextPendingEvent = await nextPending(
        world,
        clientId,
        pendingSeen + (pending === null ? 0 : 1),
        next,
      );
      if (nextPendingEvent === null) throw new Error(`the rotation after the outage never got pending`);
      await world.report(healthReport(nextPendingEvent, 'api', true));
      expect(outputOf(await world.executor.waitForExecution(next))).toMatchObject({ outcome: 'completed' });
      expect(await world.deps.ledger.getLock(clientId)).toBeNull();
      await world.assertInvariants([clientId]);
    },
  );
});

/** The client's next `Rotation Pending` after the first `seen`, or null once the execution ended without one. */
async function nextPending(world: World, clientId: string, seen: number, executionArn: string) {
  for (;;) {
    const found = world.events.filter(
      (e) => e.detailType === 'Rotation Pending' && e.detail.clientId === clientId,
    );
    if (found.length > seen) return found[seen] ?? null;
    if (world.executor.describeExecution(executionArn).status !== 'RUNNING') return null;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
