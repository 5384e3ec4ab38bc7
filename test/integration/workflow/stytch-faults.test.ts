import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { outputOf } from './support.js';

const CLIENTS = ['m2m-client-test-faulty-a', 'm2m-client-test-faulty-b', 'm2m-client-test-faulty-c'];

/**
 * Random faults, under the emulator's real-Stytch modes: changes reach the token endpoint 150 ms
 * late, a wrong secret is refused with `unauthorized_client` (401, not the `invalid_client` the
 * code was written against), and the management API is limited in fixed windows without
 * `Retry-After`.
 */
describe('Scenario: Stytch fails 30 % of calls on every route, and behaves as the real Stytch may', () => {
  let world: World;

  beforeAll(async () => {
    // Consumers are not the point here: no expected consumers, so each rotation runs straight through.
    world = await createWorld(
      CLIENTS.map((clientId) => ({ clientId })),
      {
        emulatorSeed: 30,
        emulator: {
          modes: {
            consistencyDelay: { startMs: 150, completeMs: 150, cancelMs: 150 },
            tokenRefusal: { error: 'unauthorized_client', status: 401 },
            fixedWindowRateLimit: { management: { requests: 20, windowMs: 1000 } },
          },
        },
      },
    );
  });
  afterAll(() => world?.stop());

  it('converges: every rotation completes through retries, and Stytch and Secrets Manager agree', async () => {
    // Prepare
    world.emulator.faults.setRouteFault('*', { errorRate: 0.3, status: 503 });

    // Act
    const executions = await Promise.all(
      CLIENTS.map((clientId) => world.run({ clientId, trigger: 'schedule' })),
    );
    world.emulator.faults.clear();

    // Assess
    const faulted = world.emulator.requestLog().filter((entry) => entry.fault === 'error');
    expect(faulted.length).toBeGreaterThan(0);
    for (const execution of executions) {
      expect(outputOf(execution)).toMatchObject({ outcome: 'completed', reason: 'no_consumers_expected' });
    }
    await world.assertInvariants(CLIENTS);
  });
});
