import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { outputOf } from './support.js';

const START = 'm2m-client-test-lost-start';
const COMPLETE = 'm2m-client-test-lost-complete';

describe('Scenario: Stytch commits but the response is lost', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld([{ clientId: START }, { clientId: COMPLETE }]);
  });
  afterAll(() => world?.stop());

  it('on rotate/start: recovers by cancelling the orphaned rotation and starting again', async () => {
    // Prepare
    world.emulator.faults.dropResponseNext('m2m.secrets.rotateStart');

    // Act
    const execution = await world.run({ clientId: START, trigger: 'schedule' });

    // Assess
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed' });
    const routes = world.emulator
      .requestLog()
      .filter((entry) => entry.clientId === START && entry.route?.startsWith('m2m.secrets.'))
      .map((entry) => `${entry.route}:${entry.status}`);
    expect(routes).toEqual([
      'm2m.secrets.rotateStart:0',
      'm2m.secrets.rotateStart:400',
      'm2m.secrets.rotateCancel:200',
      'm2m.secrets.rotateStart:200',
      'm2m.secrets.rotate:200',
    ]);
    await world.assertInvariants([START]);
  });

  it('on rotate (complete): the retried step sees Stytch already completed and finishes', async () => {
    // Prepare
    world.emulator.faults.dropResponseNext('m2m.secrets.rotate');

    // Act
    const execution = await world.run({ clientId: COMPLETE, trigger: 'schedule' });

    // Assess
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed' });
    await world.assertInvariants([COMPLETE]);
  });
});
