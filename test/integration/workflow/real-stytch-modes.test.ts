import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { outputOf } from './support.js';

// Whole rotations through the synthesized state machine against an emulator that behaves as the
// real Stytch may (stytch-api.md §12): a token endpoint that applies rotations late, another OAuth
// refusal value than `invalid_client`, and fixed-window rate limits without Retry-After. No
// consumers are expected, so each rotation runs straight through.

const LAGGING_START = 'm2m-client-test-lagging-start';
const LAGGING_COMPLETE = 'm2m-client-test-lagging-complete';
const OTHER_REFUSAL = 'm2m-client-test-other-refusal';
const THROTTLED = 'm2m-client-test-throttled';
const CLIENTS = [LAGGING_START, LAGGING_COMPLETE, OTHER_REFUSAL, THROTTLED];

/** A lag well inside the adapter's default 10 s consistency grace. */
const LAG_MS = 500;
/** The management window: longer than our client's three attempts, shorter than the state machine's retries. */
const WINDOW_MS = 1_500;

describe('Scenario: Stytch behaves as the real one may, not as an instantly consistent emulator', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld(CLIENTS.map((clientId) => ({ clientId })));
  });
  afterAll(() => world?.stop());

  /** The token endpoint's statuses for `clientId`, in order. */
  function tokenStatuses(clientId: string): number[] {
    return world.emulator
      .requestLog()
      .filter((entry) => entry.route === 'oauth2.token' && entry.clientId === clientId)
      .map((entry) => entry.status);
  }

  /** The names of the states an execution entered, in order. */
  function statesEntered(executionArn: string): (string | undefined)[] {
    return world.executor
      .getExecutionHistory(executionArn)
      .events.filter((event) => event.type.endsWith('StateEntered'))
      .map(
        (event) => (event as { stateEnteredEventDetails?: { name?: string } }).stateEnteredEventDetails?.name,
      );
  }

  // No consumer expected: StartRotation decides the wait (no retry of the start, no task token).
  const straightThrough = ['Prepare', 'StartRotation', 'PublishPending', 'WaitDecided'];

  it('completes when the token endpoint sees rotate/start late: the self-test waits for the new secret', async () => {
    // Prepare
    world.emulator.modes.set({ consistencyDelay: { startMs: LAG_MS } });

    // Act
    const execution = await world.run({ clientId: LAGGING_START, trigger: 'schedule' });
    world.emulator.modes.reset();

    // Assess
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed', reason: 'no_consumers_expected' });
    expect(statesEntered(execution.executionArn).slice(0, 4)).toEqual(straightThrough);
    // The new secret was refused at first, then accepted: the lag was real and was waited out.
    const statuses = tokenStatuses(LAGGING_START);
    expect(statuses[0]).toBe(400);
    expect(statuses).toContain(200);
    const history = JSON.stringify(world.executor.getExecutionHistory(execution.executionArn));
    expect(history).not.toContain('SelfTestFailedError');
    await world.assertInvariants([LAGGING_START]);
  });

  it('completes when the token endpoint sees rotate (complete) late: the old secret is proven dead once it is', async () => {
    // Prepare
    world.emulator.modes.set({ consistencyDelay: { completeMs: LAG_MS } });

    // Act
    const execution = await world.run({ clientId: LAGGING_COMPLETE, trigger: 'schedule' });
    world.emulator.modes.reset();

    // Assess
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed', reason: 'no_consumers_expected' });
    // After the self-test's 200, the old secret was still accepted for a while, then refused.
    const afterSelfTest = tokenStatuses(LAGGING_COMPLETE).slice(1);
    expect(afterSelfTest[0]).toBe(200);
    expect(afterSelfTest.at(-1)).toBe(400);
    // Within one CompleteRotation attempt: the step never reported the old secret as still valid.
    const history = JSON.stringify(world.executor.getExecutionHistory(execution.executionArn));
    expect(history).not.toContain('OldSecretStillValidError');
    await world.assertInvariants([LAGGING_COMPLETE]);
  });

  it('completes when Stytch refuses the old secret with 401 unauthorized_client instead of invalid_client', async () => {
    // Prepare
    world.emulator.modes.set({ tokenRefusal: { error: 'unauthorized_client', status: 401 } });

    // Act
    const execution = await world.run({ clientId: OTHER_REFUSAL, trigger: 'schedule' });
    // The harness's own check of AWSPREVIOUS knows only invalid_client: restore it before asserting.
    world.emulator.modes.reset();

    // Assess
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed', reason: 'no_consumers_expected' });
    expect(
      world.emulator
        .requestLog()
        .filter((entry) => entry.clientId === OTHER_REFUSAL && entry.route === 'oauth2.token')
        .map((entry) => `${entry.status} ${entry.errorType ?? ''}`.trim()),
    ).toEqual(['200', '401 unauthorized_client']);
    await world.assertInvariants([OTHER_REFUSAL]);
  });

  it('converges under a fixed-window rate limit that outlasts the retries of our own client', async () => {
    // Prepare: at the start of a fresh window, spend its one management request, so StartRotation's
    // rotate/start meets 429s for longer than our client's three attempts take.
    world.emulator.modes.set({ fixedWindowRateLimit: { management: { requests: 1, windowMs: WINDOW_MS } } });
    await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 5);
    await world.stytch.m2m.get(THROTTLED);

    // Act
    const execution = await world.run({ clientId: THROTTLED, trigger: 'schedule' });
    world.emulator.modes.reset();

    // Assess
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed', reason: 'no_consumers_expected' });
    const rotateStarts = world.emulator
      .requestLog()
      .filter((entry) => entry.clientId === THROTTLED && entry.route === 'm2m.secrets.rotateStart')
      .map((entry) => entry.status);
    // Our client's three attempts all ran into the window; the state machine retried the step.
    expect(rotateStarts.slice(0, 3)).toEqual([429, 429, 429]);
    expect(rotateStarts.at(-1)).toBe(200);
    const history = JSON.stringify(world.executor.getExecutionHistory(execution.executionArn));
    expect(history).toContain('StytchRateLimitedError');
    expect(statesEntered(execution.executionArn)).not.toContain('CancelRotation');
    await world.assertInvariants([THROTTLED]);
  });
});
