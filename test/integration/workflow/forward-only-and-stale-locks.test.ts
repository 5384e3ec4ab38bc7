import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientRef } from '#core/ports.js';
import { createWorld, type World } from './harness.js';
import { healthReport, outputOf, waitForEvent } from './support.js';

/**
 * The two ways a client used to end up with a dead secret or a live leak:
 * 1. Stytch is out when CompleteRotation has already moved AWSCURRENT: the rotation must only go
 *    forward (never to the cancel path), for as long as it takes, and a later recovery must
 *    complete at Stytch, never cancel what readers use.
 * 2. An execution is stopped (or fails) while it holds the lock: the lock must not outlive it, and
 *    a leak report for its client must still kill the leaked secret.
 * Throughout, a prober reads AWSCURRENT and mints with it: it must authenticate at every moment.
 */
const OUTAGE = 'm2m-client-test-outage-at-complete';
const LONG_OUTAGE = 'm2m-client-test-long-outage';
const STOPPED = 'm2m-client-test-stopped';
const STOPPED_UNDELIVERED = 'm2m-client-test-stopped-undelivered';
const STOPPED_LEAK = 'm2m-client-test-stopped-then-leak';

describe('Scenario: outages at completion and executions that end without their last step', () => {
  let world: World;
  let probing = true;
  const probeFailures: string[] = [];
  let probe: Promise<void>;

  beforeAll(async () => {
    world = await createWorld([
      { clientId: OUTAGE },
      { clientId: LONG_OUTAGE },
      { clientId: STOPPED, policy: { expectedConsumers: ['api'] } },
      { clientId: STOPPED_UNDELIVERED, policy: { expectedConsumers: ['api'] } },
      { clientId: STOPPED_LEAK, policy: { expectedConsumers: ['api'] } },
    ]);
    // AWSCURRENT must authenticate at every moment, for every client, whatever the workflow does.
    probe = (async () => {
      while (probing) {
        for (const clientId of [OUTAGE, LONG_OUTAGE, STOPPED, STOPPED_UNDELIVERED, STOPPED_LEAK]) {
          const ref: ClientRef = { clientId, kind: 'm2m' };
          const current = await world.deps.secrets.read(ref, 'AWSCURRENT');
          if (current === null) continue;
          try {
            await world.stytch.token({ clientId, clientSecret: current.clientSecret });
          } catch (error) {
            // A read that raced a promotion by a hair is read again before it counts.
            const again = await world.deps.secrets.read(ref, 'AWSCURRENT');
            if (again?.clientSecret.lastFour !== current.clientSecret.lastFour) continue;
            probeFailures.push(`${clientId} …${current.clientSecret.lastFour}: ${(error as Error).name}`);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
  }, 120_000);
  afterAll(async () => {
    probing = false;
    await probe;
    await world?.stop();
  });

  it('an outage of rotate (complete) longer than the transient retry budget: completes once Stytch is back', async () => {
    // Prepare: 12 failures of rotate (complete) outlast the 6 attempts of a transient fault.
    world.emulator.faults.failNext('m2m.secrets.rotate', { status: 503, count: 12 });

    // Act
    const execution = await world.run({ clientId: OUTAGE, trigger: 'schedule' });

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed', clientId: OUTAGE });
    const history = JSON.stringify(world.executor.getExecutionHistory(execution.executionArn));
    expect(history).not.toContain('"CancelRotation"');
    expect(await world.deps.ledger.getLock(OUTAGE)).toBeNull();
    await world.assertInvariants([OUTAGE]);
    expect(probeFailures).toEqual([]);
  });

  it('a refusal of rotate (complete) that outlasts every retry: the execution fails, never cancels, and the next rotation completes the stuck one first', async () => {
    // Prepare: Stytch refuses to complete for the whole of the forward-only budget (and the
    // reconciler's attempts), then comes back.
    world.emulator.faults.failNext('m2m.secrets.rotate', { status: 400, count: 1000 });
    const failed = await world.run({ clientId: LONG_OUTAGE, trigger: 'schedule' });
    await world.reconciled();
    expect(failed.status).toBe('FAILED');
    const failedHistory = JSON.stringify(world.executor.getExecutionHistory(failed.executionArn));
    expect(failedHistory).not.toContain('"CancelRotation"');
    // AWSCURRENT is the new secret and Stytch still has it pending: nothing may cancel it.
    const stuck = await world.stytch.m2m.get(LONG_OUTAGE);
    const current = await world.deps.secrets.read({ clientId: LONG_OUTAGE, kind: 'm2m' }, 'AWSCURRENT');
    expect(stuck.nextClientSecretLastFour).toBe(current?.clientSecret.lastFour);
    expect(world.asyncFailures.some((failure) => failure.includes(failed.executionArn))).toBe(true);
    world.emulator.faults.clear();

    // Act: the next rotation finds the dead execution's lock
    const next = await world.run({ clientId: LONG_OUTAGE, trigger: 'schedule' });

    // Assess
    expect(outputOf(next)).toMatchObject({ outcome: 'completed', clientId: LONG_OUTAGE });
    expect(world.emulator.requestLog().filter((r) => r.route === 'm2m.secrets.rotateCancel')).toEqual([]);
    const record = await world.deps.ledger.listRotations(LONG_OUTAGE, 5);
    expect(record.map((r) => r.status)).toEqual(['completed', 'failed']);
    await world.assertInvariants([LONG_OUTAGE]);
    expect(probeFailures).toEqual([]);
  });

  it('a stopped execution: its lock is released and its client made whole at once', async () => {
    // Prepare
    const { executionArn } = world.executor.startExecution({
      input: { clientId: STOPPED, trigger: 'schedule' },
    });
    await waitForEvent(world, 'Rotation Pending', STOPPED);

    // Act
    world.executor.stopExecution(executionArn);
    await world.reconciled();

    // Assess
    expect(await world.deps.ledger.getLock(STOPPED)).toBeNull();
    const [record] = await world.deps.ledger.listRotations(STOPPED, 1);
    expect(record).toMatchObject({ status: 'failed', outcomeReason: 'execution_ended' });
    expect(
      world.events.some((e) => e.detailType === 'Rotation Failed' && e.detail.clientId === STOPPED),
    ).toBe(true);
    await world.assertInvariants([STOPPED]);
    // …and the client rotates again at once.
    const { executionArn: again } = world.executor.startExecution({
      input: { clientId: STOPPED, trigger: 'manual' },
    });
    await world.report(healthReport(await latestPending(world, STOPPED, 2), 'api', true));
    expect(outputOf(await world.executor.waitForExecution(again))).toMatchObject({ outcome: 'completed' });
    await world.assertInvariants([STOPPED]);
  });

  it('a stopped execution whose status event is lost: the next start takes the lock over after reconciling', async () => {
    // Prepare
    world.deliverExecutionEnds(false);
    const { executionArn } = world.executor.startExecution({
      input: { clientId: STOPPED_UNDELIVERED, trigger: 'schedule' },
    });
    await waitForEvent(world, 'Rotation Pending', STOPPED_UNDELIVERED);
    world.executor.stopExecution(executionArn);
    world.deliverExecutionEnds(true);
    expect(await world.deps.ledger.getLock(STOPPED_UNDELIVERED)).not.toBeNull();

    // Act
    const { executionArn: next } = world.executor.startExecution({
      input: { clientId: STOPPED_UNDELIVERED, trigger: 'manual' },
    });
    await world.report(healthReport(await latestPending(world, STOPPED_UNDELIVERED, 2), 'api', true));

    // Assess
    expect(outputOf(await world.executor.waitForExecution(next))).toMatchObject({ outcome: 'completed' });
    const records = await world.deps.ledger.listRotations(STOPPED_UNDELIVERED, 5);
    expect(records.map((r) => r.status)).toEqual(['completed', 'failed']);
    await world.assertInvariants([STOPPED_UNDELIVERED]);
  });

  it('a leak report for a client whose execution was stopped (status event lost): the leaked secret dies', async () => {
    // Prepare
    world.deliverExecutionEnds(false);
    const leakedBefore = await world.deps.secrets.read({ clientId: STOPPED_LEAK, kind: 'm2m' }, 'AWSCURRENT');
    const { executionArn } = world.executor.startExecution({
      input: { clientId: STOPPED_LEAK, trigger: 'schedule' },
    });
    await waitForEvent(world, 'Rotation Pending', STOPPED_LEAK);
    world.executor.stopExecution(executionArn);
    world.deliverExecutionEnds(true);

    // Act
    const result = await world.leak({
      id: 'leak-after-stop-1',
      detail: { clientId: STOPPED_LEAK, source: 'responder' },
    });

    // Assess: not an escalation of the dead rotation, but a leak rotation that takes its lock over
    expect(result).toMatchObject({ result: 'rotation_started' });
    const { executionArn: leakArn } = result as { executionArn: string };
    await world.report(healthReport(await latestPending(world, STOPPED_LEAK, 2), 'api', true));
    const ended = await world.executor.waitForExecution(leakArn);
    expect(outputOf(ended)).toMatchObject({ outcome: 'completed' });
    if (leakedBefore === null) throw new Error('no AWSCURRENT before the leak');
    await expect(
      world.stytch.token({ clientId: STOPPED_LEAK, clientSecret: leakedBefore.clientSecret }),
    ).rejects.toMatchObject({ errorType: 'invalid_client' });
    await world.assertInvariants([STOPPED_LEAK]);
    expect(probeFailures).toEqual([]);
  });
});

/** The `Rotation Pending` event of a client's `nth` rotation (1-based), once published. */
async function latestPending(world: World, clientId: string, nth: number) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = world.events.filter(
      (e) => e.detailType === 'Rotation Pending' && e.detail.clientId === clientId,
    );
    const event = found[nth - 1];
    if (event !== undefined) return event;
    if (Date.now() > deadline) throw new Error(`no Rotation Pending #${nth} for ${clientId}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
