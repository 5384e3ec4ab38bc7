import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld, type World } from './harness.js';
import { healthReport, outputOf, waitForEvent } from './support.js';

const CLIENT = 'm2m-client-test-bad-inputs';

describe('Scenario: bad inputs', () => {
  let world: World;

  beforeAll(async () => {
    world = await createWorld([{ clientId: CLIENT, policy: { expectedConsumers: ['billing-api'] } }]);
  });
  afterAll(() => world?.stop());

  it.each([
    ['a malformed workflow input', { clientId: CLIENT, trigger: 'cron' }, /InvalidInputError|trigger/],
    [
      'an unknown client',
      { clientId: 'm2m-client-test-nobody', trigger: 'manual' },
      /UnknownClientError|not managed/,
    ],
    ['a misspelt key', { clientid: CLIENT, trigger: 'manual' }, /InvalidInputError/],
  ])('fails %s with a clear error and touches nothing', async (_label, input, message) => {
    // Prepare
    const requestsBefore = world.emulator.requestLog().length;

    // Act
    const execution = await world.run(input);

    // Assess: refused, not failed (a bad request pages no one), and said so in the output
    expect(execution.status).toBe('SUCCEEDED');
    expect(outputOf(execution)).toMatchObject({ outcome: 'invalid_request', reason: 'invalid_request' });
    const history = JSON.stringify(world.executor.getExecutionHistory(execution.executionArn));
    expect(history).toMatch(message);
    expect(
      world.emulator
        .requestLog()
        .slice(requestsBefore)
        .filter((r) => r.route?.startsWith('m2m.secrets')),
    ).toEqual([]);
    expect(await world.deps.ledger.getLock(CLIENT)).toBeNull();
    await world.assertInvariants([CLIENT]);
  });

  it('ignores health reports for another rotation, a wrong version or an unknown consumer; rejects malformed ones', async () => {
    // Prepare
    const { executionArn } = world.executor.startExecution({
      input: { clientId: CLIENT, trigger: 'manual' },
    });
    const pending = await waitForEvent(world, 'Rotation Pending', CLIENT);
    const good = healthReport(pending, 'billing-api', true);

    // Act
    const results = [
      await world.report({ ...good, rotationId: '00000000-0000-4000-8000-000000000000' }),
      await world.report({ ...good, pendingVersionId: '00000000-0000-4000-8000-000000000001' }),
      await world.report({ ...good, consumer: 'intruder' }),
    ];
    const malformed = await world.report({ ...good, healthy: 'yes' }).catch((error: unknown) => error);
    const stillRunning = world.executor.describeExecution(executionArn).status;
    await world.report(good);
    const execution = await world.executor.waitForExecution(executionArn);

    // Assess
    expect(results).toEqual([
      { accepted: false, rejection: 'unknown_rotation' },
      { accepted: false, rejection: 'wrong_version' },
      { accepted: false, rejection: 'unexpected_consumer' },
    ]);
    expect(malformed).toMatchObject({ name: 'InvalidInputError' });
    expect(stillRunning).toBe('RUNNING');
    expect(outputOf(execution)).toMatchObject({ outcome: 'completed', reason: 'all_consumers_healthy' });
    await world.assertInvariants([CLIENT]);
  });
});
