import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { outputOf } from './support.js';

const CLIENT = 'm2m-client-test-contended';

describe('Scenario: 100 triggers for one client at once', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld([{ clientId: CLIENT }]);
  });
  afterAll(() => world?.stop());

  it('runs exactly one rotation; the others are rejected and change nothing', async () => {
    // Act
    const executions = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        world.run({ clientId: CLIENT, trigger: i % 2 === 0 ? 'schedule' : 'manual' }),
      ),
    );

    // Assess
    // Refusals succeed with `outcome: rejected` (a double-click pages no one); nothing failed.
    expect(executions.filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);
    const completed = executions.filter((e) => (outputOf(e) as { outcome?: string }).outcome === 'completed');
    const rejected = executions.filter(
      (e) =>
        (outputOf(e) as { outcome?: string; error?: string }).outcome === 'rejected' &&
        (outputOf(e) as { error?: string }).error === 'RotationInProgressError',
    );
    expect(completed).toHaveLength(1);
    expect(outputOf(completed[0] ?? {})).toMatchObject({ outcome: 'completed' });
    expect(rejected).toHaveLength(99);
    expect(world.emulator.requestLog().filter((e) => e.route === 'm2m.secrets.rotateStart')).toHaveLength(1);
    await world.assertInvariants([CLIENT]);
  });
});
