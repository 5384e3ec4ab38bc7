import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { outputOf } from './support.js';

const CLIENTS = ['m2m-client-test-faulty-a', 'm2m-client-test-faulty-b', 'm2m-client-test-faulty-c'];

describe('Scenario: Stytch fails 30 % of calls on every route', () => {
  let world: World;

  beforeAll(async () => {
    // Consumers are not the point here: no expected consumers, so each rotation runs straight through.
    world = await createWorld(
      CLIENTS.map((clientId) => ({ clientId })),
      { emulatorSeed: 30 },
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
