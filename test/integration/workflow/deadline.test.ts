import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { outputOf } from './support.js';

const SLOW = 'm2m-client-test-slow-consumer';

describe('Scenario: the deadline passes with a consumer silent', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld([
      {
        clientId: SLOW,
        policy: {
          expectedConsumers: ['never-reports'],
          schedule: { deadlineSeconds: 1 },
          leak: { deadlineSeconds: 1 },
        },
      },
    ]);
  });
  afterAll(() => world?.stop());

  it('cancels a scheduled rotation (fail-safe): nobody is broken', async () => {
    // Prepare
    const ref = { clientId: SLOW, kind: 'm2m' } as const;
    const before = await world.deps.secrets.read(ref, 'AWSCURRENT');

    // Act
    const execution = await world.run({ clientId: SLOW, trigger: 'schedule' });

    // Assess
    expect(outputOf(execution)).toMatchObject({ outcome: 'cancelled', reason: 'deadline_fail_safe' });
    expect((await world.deps.secrets.read(ref, 'AWSCURRENT'))?.clientSecret.lastFour).toBe(
      before?.clientSecret.lastFour,
    );
    await world.assertInvariants([SLOW]);
  });

  it('completes a leak rotation anyway (fail-secure): the leaked secret dies', async () => {
    // Prepare
    const ref = { clientId: SLOW, kind: 'm2m' } as const;
    const leaked = await world.deps.secrets.read(ref, 'AWSCURRENT');

    // Act
    const execution = await world.run({
      clientId: SLOW,
      trigger: 'leak',
      requestedBy: 'github-secret-scanning',
    });

    // Assess
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed', reason: 'deadline_fail_secure' });
    await expect(
      world.stytch.token({ clientId: SLOW, clientSecret: leaked?.clientSecret ?? '' }),
    ).rejects.toMatchObject({ errorType: 'invalid_client' });
    await world.assertInvariants([SLOW]);
  });
});
