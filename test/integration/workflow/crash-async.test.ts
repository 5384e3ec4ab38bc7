import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotatorEvent } from '#core/events.js';
import type { ClientRef } from '#core/ports.js';
import type { Secret } from '#core/secret.js';
import { rotationIdFor } from '#core/state.js';
import { STEP_BODIES, type StepName } from '#wiring/steps.js';
import { waitFor } from '../../support/waitFor.js';
import {
  type CrashErrorName,
  crashCases,
  crashTableRows,
  createWorld,
  type CrashCase as HarnessCrashCase,
  type World,
  type WorldClient,
} from './harness.js';
import { healthReport, outputOf } from './support.js';

/**
 * The functions EventBridge invokes asynchronously (the health aggregator, the leak intake, the
 * execution reconciler) can die after any call too; Lambda then retries the event twice. For every
 * port call each of them makes, in order, the function dies right after it, the event is delivered
 * again, and the rotation it acts on must converge: the right outcome, the lock released, Stytch
 * and Secrets Manager in agreement, and for a leak the leaked secret dead. docs/design.md's crash table
 * lists the same points (checked below). `States.Timeout` is a Step Functions task's error, so
 * only Lambda's own three crash names are used here.
 *
 * Settings (a client per setting, its points one after the other, each from the idle state the
 * point before it left):
 * - `healthy` / `unhealthy`: a scheduled rotation waits for consumer `api`, which reports;
 * - `leak-idle`: the current secret leaks (reported by fingerprint), no rotation in progress;
 * - `leak-unindexed`: the same, for a client whose current secret was never indexed (enrolled
 *   from outside, never rotated): the intake finds it by scanning the managed clients;
 * - `leak-current` / `leak-pending`: the current / the pending secret leaks while a scheduled
 *   rotation waits for its consumer: the rotation completes at once / is cancelled, and the cancel
 *   sends the leak back to the intake (delivered here as the rule would), which starts a leak
 *   rotation;
 * - `stopped`: an execution is stopped while it waits; the reconciler ends its rotation.
 */
type Setting =
  | 'healthy'
  | 'unhealthy'
  | 'leak-idle'
  | 'leak-unindexed'
  | 'leak-current'
  | 'leak-pending'
  | 'stopped';
type AsyncStep = Extract<StepName, 'HealthAggregator' | 'LeakIntake' | 'ExecutionReconciler'>;
type LambdaCrashName = Exclude<CrashErrorName, 'States.Timeout'>;

type CrashCase = HarnessCrashCase<Setting, AsyncStep>;

const LEAK_DEAD = 'the leaked secret dead; lock released';
const CONVERGES: Readonly<Record<Setting, string>> = {
  healthy: 'completed (all_consumers_healthy); lock released',
  unhealthy: 'cancelled (consumer_unhealthy); lock released',
  'leak-idle': `a leak rotation completed; ${LEAK_DEAD}`,
  'leak-unindexed': `a leak rotation completed; ${LEAK_DEAD}`,
  'leak-current': `completed (leak_escalated); ${LEAK_DEAD}`,
  'leak-pending': `cancelled (leak_of_pending), then a leak rotation completed; ${LEAK_DEAD}`,
  stopped: 'failed (execution_ended); client reconciled; lock released',
};

const crashes = crashCases<Setting, AsyncStep, LambdaCrashName>(CONVERGES);

const ASYNC_CRASHES: readonly CrashCase[] = [
  ...crashes('healthy', 'HealthAggregator', [
    ['ledger.getRotation', 'the record read', 'Sandbox.Timedout'],
    ['ledger.recordReport', 'a healthy report recorded', 'Runtime.ExitError'],
    ['ledger.claimDecision', 'the decision claimed: healthy', 'Lambda.Unknown'],
    ['callbacks.succeed', 'the wait answered: complete', 'Sandbox.Timedout'],
    ['ledger.markAnswered', 'the answer recorded', 'Runtime.ExitError'],
  ]),
  ...crashes('unhealthy', 'HealthAggregator', [
    ['ledger.recordReport', 'an unhealthy report recorded', 'Lambda.Unknown'],
    ['ledger.claimDecision', 'the decision claimed: unhealthy', 'Sandbox.Timedout'],
    ['callbacks.fail', 'the wait answered: cancel', 'Runtime.ExitError'],
  ]),
  ...crashes('leak-idle', 'LeakIntake', [
    ['ledger.findFingerprint', 'the fingerprint looked up', 'Lambda.Unknown'],
    ['secrets.read', 'AWSCURRENT read, to scrub the report', 'Sandbox.Timedout', 1],
    ['secrets.read', 'AWSPENDING read, to scrub the report', 'Runtime.ExitError', 2],
    ['secrets.read', 'AWSPREVIOUS read, to scrub the report', 'Lambda.Unknown', 3],
    ['secrets.versions', 'the leaked version found current', 'Sandbox.Timedout'],
    ['ledger.getLock', 'no lock held', 'Runtime.ExitError'],
    ['workflow.start', 'the leak rotation started', 'Lambda.Unknown'],
    ['ledger.recordLeakReport', 'the report recorded: rotation started', 'Sandbox.Timedout'],
  ]),
  ...crashes('leak-unindexed', 'LeakIntake', [
    ['secrets.read', "a scanned client's AWSCURRENT read", 'Runtime.ExitError', 1],
  ]),
  ...crashes('leak-current', 'LeakIntake', [
    ['ledger.getRotation', "the lock holder's record read", 'Lambda.Unknown'],
    ['executions.status', "the lock holder's execution found running", 'Sandbox.Timedout'],
    ['ledger.escalateRotation', 'the rotation escalated: complete', 'Runtime.ExitError'],
    ['ledger.claimDecision', 'the decision claimed: complete now', 'Lambda.Unknown'],
    ['callbacks.succeed', 'the wait answered: complete', 'Sandbox.Timedout'],
    ['ledger.markAnswered', 'the answer recorded', 'Runtime.ExitError'],
    ['ledger.recordLeakReport', 'the report recorded: escalated', 'Lambda.Unknown'],
  ]),
  ...crashes('leak-pending', 'LeakIntake', [
    ['ledger.escalateRotation', 'the rotation escalated: cancel', 'Sandbox.Timedout'],
    ['ledger.claimDecision', 'the decision claimed: cancel', 'Runtime.ExitError'],
    ['callbacks.fail', 'the wait answered: cancel', 'Lambda.Unknown'],
  ]),
  ...crashes('stopped', 'ExecutionReconciler', [
    ['ledger.getLock', 'the lock read', 'Sandbox.Timedout'],
    ['ledger.getRotation', 'the record read', 'Runtime.ExitError'],
    ['executions.status', 'the execution found ended', 'Lambda.Unknown'],
    ['secrets.versions', 'reconciliation observes the labels', 'Sandbox.Timedout', 1],
    ['secrets.read', 'reconciliation observes AWSCURRENT', 'Runtime.ExitError', 1],
    ['secrets.read', 'reconciliation observes AWSPENDING', 'Lambda.Unknown', 2],
    ['stytch.getSecretState', "reconciliation observes Stytch's pending", 'Sandbox.Timedout', 1],
    ['secrets.versions', 'labels read, to drop AWSPENDING', 'Runtime.ExitError', 2],
    ['secrets.read', 'AWSPENDING read, to index it', 'Lambda.Unknown', 3],
    ['secrets.removePending', 'AWSPENDING removed, not yet indexed', 'Sandbox.Timedout'],
    ['ledger.putFingerprint', 'the removed secret indexed as cancelled', 'Runtime.ExitError'],
    ['stytch.cancelRotation', 'rotate/cancel', 'Lambda.Unknown'],
    ['secrets.versions', 'reconciliation re-observes the labels', 'Sandbox.Timedout', 3],
    ['secrets.read', 'reconciliation re-observes AWSCURRENT', 'Runtime.ExitError', 4],
    ['stytch.getSecretState', 'reconciliation re-observes Stytch', 'Lambda.Unknown', 2],
    ['ledger.updateRotation', 'the record closed as failed', 'Sandbox.Timedout'],
    ['events.publish', '`Rotation Failed`', 'Runtime.ExitError'],
    ['ledger.releaseLock', 'the lock released', 'Lambda.Unknown'],
  ]),
];

/** The client a point acts on: one per setting. */
const clientOf = (setting: Setting) => `m2m-client-test-crash-async-${setting}`;
/** Long enough for any healthy run, short enough that a wait nobody answers ends the test soon. */
const DEADLINE_SECONDS = 10;

function worldClient(setting: Setting): WorldClient {
  const clientId = clientOf(setting);
  if (setting === 'leak-idle' || setting === 'leak-unindexed') return { clientId };
  return {
    clientId,
    policy: {
      expectedConsumers: ['api'],
      schedule: { deadlineSeconds: DEADLINE_SECONDS },
      // The leak rotation a preemption starts completes at its deadline (fail-secure) unanswered.
      leak: { deadlineSeconds: 1 },
    },
  };
}

describe('Scenario: an asynchronously invoked function dies after each of its calls, and the retry converges', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld([...new Set(ASYNC_CRASHES.map((crash) => crash.setting))].map(worldClient));
  }, 120_000);
  afterAll(() => world?.stop());

  it("the design page's crash table lists exactly these points, in this order, and nothing but the deployed functions", () => {
    // Prepare
    const steps = new Set<string>(ASYNC_CRASHES.map((crash) => crash.step));
    const functions = new Set<string>(Object.keys(STEP_BODIES));

    // Act
    const rows = crashTableRows();

    // Assess
    const labels = rows.map((row) => `${row.step}: ${row.after}`);
    expect(labels.filter((label, i) => labels.indexOf(label) !== i)).toEqual([]);
    expect(rows.filter((row) => !functions.has(row.step))).toEqual([]);
    expect(rows.filter((row) => steps.has(row.step))).toEqual(
      ASYNC_CRASHES.map((crash) => ({
        step: crash.step,
        after: crash.after,
        error: `\`${crash.point.error}\``,
        converges: crash.converges,
      })),
    );
  });

  it.each(
    ASYNC_CRASHES.map((crash, index) => [`${crash.step}: after ${crash.after}`, crash, index] as const),
  )('%s', async (_label, crash, index) => {
    // Prepare
    const clientId = clientOf(crash.setting);
    const ref: ClientRef = { clientId, kind: 'm2m' };
    const scenario = await prepare(world, crash, ref, `crash-async-${index}`);

    // Act
    const execution = await scenario.act();

    // Assess
    expect(world.crashed()).toBe(true);
    const rotationId = rotationIdFor(execution.executionArn);
    switch (crash.setting) {
      case 'healthy':
        expect(outputOf(execution)).toMatchObject({ outcome: 'completed', reason: 'all_consumers_healthy' });
        break;
      case 'unhealthy':
        expect(outputOf(execution)).toMatchObject({ outcome: 'cancelled', reason: 'consumer_unhealthy' });
        break;
      case 'leak-idle':
      case 'leak-unindexed':
        expect(outputOf(execution)).toMatchObject({ outcome: 'completed', clientId, rotationId });
        break;
      case 'leak-current':
        expect(outputOf(execution)).toMatchObject({ outcome: 'completed', reason: 'leak_escalated' });
        break;
      case 'leak-pending': {
        expect(outputOf(execution)).toMatchObject({ outcome: 'cancelled', reason: 'leak_of_pending' });
        // The cancel sends the leak back; the rule delivers it to the intake, a leak rotation follows.
        const followUp = await deliverPreemption(world, clientId, rotationId);
        expect(outputOf(followUp)).toMatchObject({ outcome: 'completed', clientId });
        break;
      }
      case 'stopped':
        expect(execution.status).toBe('ABORTED');
        expect(world.asyncFailures).toEqual([]);
        expect(await world.deps.ledger.getRotation(clientId, rotationId)).toMatchObject({
          status: 'failed',
          outcomeReason: 'execution_ended',
        });
        expect(announced(world, 'Rotation Failed', rotationId)).toBe(true);
        break;
    }
    if (scenario.leaked !== undefined) {
      await expect(world.stytch.token({ clientId, clientSecret: scenario.leaked })).rejects.toMatchObject({
        errorType: 'invalid_client',
      });
      const reports = await world.deps.ledger.listLeakReports(clientId, 50);
      expect(reports.filter((report) => report.eventId === scenario.eventId)).toHaveLength(1);
    }
    expect(await world.deps.ledger.getLock(clientId)).toBeNull();
    await world.assertInvariants([clientId]);
  });
});

type Execution = Awaited<ReturnType<World['run']>>;

/** What a point runs, and for a leak, the leaked secret and the report's event id. */
interface Scenario {
  readonly act: () => Promise<Execution>;
  readonly leaked?: Secret;
  readonly eventId?: string;
}

/** Sets the client up for its setting, arms the crash, and returns what delivers the event. */
async function prepare(world: World, crash: CrashCase, ref: ClientRef, eventId: string): Promise<Scenario> {
  const { clientId } = ref;
  const leakOf = (secret: Secret) => async () => ({
    id: eventId,
    detail: { fingerprint: await world.deps.fingerprints.fingerprint(secret), source: 'crash-test' },
  });
  switch (crash.setting) {
    case 'healthy':
    case 'unhealthy': {
      const { executionArn, pending } = await startWaiting(world, clientId);
      world.crashAfter(crash.point);
      const healthy = crash.setting === 'healthy';
      return {
        act: async () => {
          await asAsyncInvocation(() => world.report(healthReport(pending, 'api', healthy, 'crash test')));
          return world.executor.waitForExecution(executionArn);
        },
      };
    }
    case 'leak-idle':
    case 'leak-unindexed': {
      let current = await currentSecret(world, ref);
      const indexed =
        (await world.deps.ledger.findFingerprint(await world.deps.fingerprints.fingerprint(current))) !==
        null;
      if (crash.setting === 'leak-unindexed') {
        // The point is the scan: the client must never have been indexed.
        expect(indexed).toBe(false);
      } else if (!indexed) {
        // A first rotation indexes the client's secrets, so the report is found by the index.
        expect(outputOf(await world.run({ clientId, trigger: 'schedule' }))).toMatchObject({
          outcome: 'completed',
        });
        current = await currentSecret(world, ref);
      }
      const event = await leakOf(current)();
      world.crashAfter(crash.point);
      return {
        leaked: current,
        eventId,
        act: async () => {
          // A retry after the start finds the rotation it started (and escalates it), or, once
          // that rotation completed, the secret already dead: either way the one leak rotation.
          const result = await asAsyncInvocation(() => world.leak(event));
          expect(result).toMatchObject({ clientId });
          return world.executor.waitForExecution(leakRotationOf(world, eventId));
        },
      };
    }
    case 'leak-current':
    case 'leak-pending': {
      const { executionArn } = await startWaiting(world, clientId);
      const leaked =
        crash.setting === 'leak-current' ? await currentSecret(world, ref) : await pendingSecret(world, ref);
      const event = await leakOf(leaked)();
      world.crashAfter(crash.point);
      return {
        leaked,
        eventId,
        act: async () => {
          const result = await asAsyncInvocation(() => world.leak(event));
          expect(result).toMatchObject({ clientId });
          return world.executor.waitForExecution(executionArn);
        },
      };
    }
    case 'stopped': {
      const { executionArn } = await startWaiting(world, clientId);
      world.crashAfter(crash.point);
      return {
        act: async () => {
          world.executor.stopExecution(executionArn);
          const stopped = await world.executor.waitForExecution(executionArn);
          await world.reconciled();
          return stopped;
        },
      };
    }
  }
}

/**
 * Delivers an event as Lambda's asynchronous invocation does: one attempt and, while it fails, two
 * retries (then the on-failure destination: the error is thrown here).
 */
async function asAsyncInvocation<T>(invoke: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await invoke();
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

/** Starts a scheduled rotation and waits until AwaitConsumers keeps its task token. */
async function startWaiting(world: World, clientId: string) {
  const { executionArn } = world.executor.startExecution({ input: { clientId, trigger: 'schedule' } });
  const rotationId = rotationIdFor(executionArn);
  await waitFor(async () => (await world.deps.ledger.getRotation(clientId, rotationId))?.taskToken);
  const pending = await waitFor(async () =>
    world.events.find(
      (event): event is RotatorEvent<'Rotation Pending'> =>
        event.detailType === 'Rotation Pending' && announcedFor(event, rotationId),
    ),
  );
  return { executionArn, pending };
}

/** The execution of the leak rotation the intake starts for event `eventId` (named after it). */
function leakRotationOf(world: World, eventId: string): string {
  return `${world.executor.stateMachineArn.replace(':stateMachine:', ':execution:')}:leak-${eventId}`;
}

/**
 * Delivers the `Secret Leak Detected` event the cancel of `rotationId` sent back (as the rule on
 * the bus does) to the intake, and returns the leak rotation it started, once it ended.
 */
async function deliverPreemption(world: World, clientId: string, rotationId: string): Promise<Execution> {
  const leak = world.events.find(
    (event) =>
      event.detailType === 'Secret Leak Detected' &&
      (event.detail as { reference?: string }).reference?.includes(rotationId) === true,
  );
  if (leak === undefined) throw new Error(`the cancel of ${rotationId} sent no leak back`);
  const result = await world.leak({
    id: `preempted-${rotationId}`,
    detail: leak.detail as Record<string, unknown>,
  });
  expect(result).toMatchObject({ result: 'rotation_started', clientId });
  return world.executor.waitForExecution((result as { executionArn: string }).executionArn);
}

async function currentSecret(world: World, ref: ClientRef): Promise<Secret> {
  const current = await world.deps.secrets.read(ref, 'AWSCURRENT');
  if (current === null) throw new Error(`${ref.clientId} has no AWSCURRENT`);
  return current.clientSecret;
}

async function pendingSecret(world: World, ref: ClientRef): Promise<Secret> {
  const pending = await world.deps.secrets.read(ref, 'AWSPENDING');
  if (pending === null) throw new Error(`${ref.clientId} has no AWSPENDING`);
  return pending.clientSecret;
}

function announcedFor(event: RotatorEvent, rotationId: string): boolean {
  return (event.detail as { rotationId?: string }).rotationId === rotationId;
}

/** Whether an event of `detailType` went out for this rotation. */
function announced(world: World, detailType: string, rotationId: string): boolean {
  return world.events.some((event) => event.detailType === detailType && announcedFor(event, rotationId));
}
