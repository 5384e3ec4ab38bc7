import { afterEach, describe, expect, it } from 'vitest';
import { createFixtureWorld, type FixtureWorld } from './fixtures/fixtureExecutor.js';

describe('Class: LocalExecutor (concurrent executions)', () => {
  let world: FixtureWorld | undefined;
  afterEach(async () => {
    await world?.executor.close();
    world = undefined;
  });

  it('runs 100 concurrent executions whose outputs, tokens and histories stay their own', async () => {
    // Prepare: every execution waits for a callback, answered in reverse order with its own id.
    world = createFixtureWorld();
    const { executor } = world;
    const ids = Array.from({ length: 100 }, (_, i) => `c${i}`);
    const started = ids.map((id) =>
      executor.startExecution({ input: { id, mode: 'callback', deadlineSeconds: 60 } }),
    );
    const tokens = await Promise.all(ids.map((id) => world?.tokenFor(id) ?? ''));

    // Act
    for (const [i, token] of [...tokens.entries()].reverse()) {
      executor.sendTaskSuccess(token, JSON.stringify({ answeredFor: ids[i] }));
    }
    const results = await Promise.all(
      started.map(({ executionArn }) => executor.waitForExecution(executionArn)),
    );

    // Assess
    expect(new Set(tokens).size).toBe(100);
    results.forEach((result, i) => {
      expect(result.status).toBe('SUCCEEDED');
      const output = JSON.parse(result.output ?? 'null');
      expect(output.executionId).toBe(started[i]?.executionArn);
      expect(output.state).toEqual({
        id: ids[i],
        mode: 'callback',
        deadlineSeconds: 60,
        prepared: 1,
        callback: { answeredFor: ids[i] },
      });
      const history = executor.getExecutionHistory(result.executionArn).events;
      expect(history.filter((event) => event.type === 'TaskSucceeded')).toHaveLength(2);
      expect(history.at(-1)?.executionSucceededEventDetails?.output).toBe(result.output);
    });
    expect(executor.listExecutions({ statusFilter: 'SUCCEEDED' })).toHaveLength(100);
  });
});
