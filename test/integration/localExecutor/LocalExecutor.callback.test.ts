import { afterEach, describe, expect, it } from 'vitest';
import { createFixtureWorld, type FixtureWorld } from './fixtures/fixtureExecutor.js';

describe('Class: LocalExecutor (.waitForTaskToken, timeouts, stop)', () => {
  let world: FixtureWorld | undefined;
  afterEach(async () => {
    await world?.executor.close();
    world = undefined;
  });

  it('waits for sendTaskSuccess and passes its output on', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;
    const { executionArn } = executor.startExecution({
      input: { id: 's', mode: 'callback', deadlineSeconds: 60 },
    });
    const token = await world.tokenFor('s');
    expect(executor.describeExecution(executionArn).status).toBe('RUNNING');

    // Act
    executor.sendTaskSuccess(token, JSON.stringify({ healthy: ['svc-a'] }));
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null').state).toEqual({
      id: 's',
      mode: 'callback',
      deadlineSeconds: 60,
      prepared: 1,
      callback: { healthy: ['svc-a'] },
    });
    const types = executor.getExecutionHistory(executionArn).events.map((event) => event.type);
    expect(
      types.slice(types.indexOf('ChoiceStateExited') + 1, types.indexOf('ChoiceStateExited') + 7),
    ).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    // An answered token is closed, as on AWS.
    expect(() => executor.sendTaskSuccess(token, '{}')).toThrow(
      expect.objectContaining({ name: 'TaskTimedOut' }),
    );
  });

  it('fails the task with the error and cause of sendTaskFailure, caught by name', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;
    const { executionArn } = executor.startExecution({
      input: { id: 'f', mode: 'callback', deadlineSeconds: 60 },
    });
    const token = await world.tokenFor('f');

    // Act
    executor.sendTaskFailure(token, 'ConsumerUnhealthy', JSON.stringify({ consumer: 'svc-b' }));
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const output = JSON.parse(result.output ?? 'null');
    expect(output.error).toEqual({ Error: 'ConsumerUnhealthy', Cause: '{"consumer":"svc-b"}' });
    expect(world.calls.get('Finish:f')).toBeUndefined();
    const failed = executor
      .getExecutionHistory(executionArn)
      .events.find((event) => event.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toEqual({
      resourceType: 'lambda',
      resource: 'invoke.waitForTaskToken',
      error: 'ConsumerUnhealthy',
      cause: '{"consumer":"svc-b"}',
    });
  });

  it('times out at the per-execution deadline from TimeoutSecondsPath into a States.Timeout Catch', async () => {
    // Prepare: two executions with their own deadlines; only the short one passes it. The payload has
    // no deadlineSeconds, so the path is resolved against the state input, as on AWS.
    world = createFixtureWorld();
    const { executor } = world;
    const short = executor.startExecution({ input: { id: 'short', mode: 'callback', deadlineSeconds: 1 } });
    const long = executor.startExecution({ input: { id: 'long', mode: 'callback', deadlineSeconds: 30 } });
    const shortToken = await world.tokenFor('short');
    const longToken = await world.tokenFor('long');

    // Act
    const shortResult = await executor.waitForExecution(short.executionArn);
    executor.sendTaskSuccess(longToken, '{"ok":true}');
    const longResult = await executor.waitForExecution(long.executionArn);

    // Assess
    expect(shortResult.status).toBe('SUCCEEDED');
    expect(JSON.parse(shortResult.output ?? 'null').error).toMatchObject({ Error: 'States.Timeout' });
    const timedOut = executor
      .getExecutionHistory(short.executionArn)
      .events.find((e) => e.type === 'TaskTimedOut');
    expect(timedOut?.taskTimedOutEventDetails).toMatchObject({
      resource: 'invoke.waitForTaskToken',
      error: 'States.Timeout',
    });
    const scheduled = executor
      .getExecutionHistory(short.executionArn)
      .events.filter((e) => e.type === 'TaskScheduled')
      .at(-1)?.taskScheduledEventDetails;
    expect(scheduled?.timeoutInSeconds).toBe(1);
    // The local key that carries the deadline never reaches the handler or the history.
    expect(JSON.parse(scheduled?.parameters ?? '')).not.toHaveProperty('__localExecutorTimeoutSeconds');
    expect(() => executor.sendTaskSuccess(shortToken, '{}')).toThrow(
      expect.objectContaining({ name: 'TaskTimedOut' }),
    );
    expect(JSON.parse(longResult.output ?? 'null').state.callback).toEqual({ ok: true });
  });

  it.each([
    ['missing', {}],
    ['zero', { deadlineSeconds: 0 }],
  ])('fails with States.Runtime when the TimeoutSecondsPath value is %s, as on AWS', async (_case, extra) => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;

    // Act
    const { executionArn } = executor.startExecution({ input: { id: 'bad', mode: 'callback', ...extra } });
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(world.calls.get('Await:bad')).toBeUndefined();
  });

  it('fails a callback task with States.HeartbeatTimeout when no heartbeat comes in time', async () => {
    // Prepare
    world = createFixtureWorld({ heartbeatSeconds: 1 });
    const { executor } = world;
    const { executionArn } = executor.startExecution({
      input: { id: 'hb', mode: 'callback', deadlineSeconds: 60 },
    });
    const token = await world.tokenFor('hb');

    // Act
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.HeartbeatTimeout' });
    const timedOut = executor.getExecutionHistory(executionArn).events.find((e) => e.type === 'TaskTimedOut');
    expect(timedOut?.taskTimedOutEventDetails).toMatchObject({ error: 'States.HeartbeatTimeout' });
    expect(() => executor.sendTaskHeartbeat(token)).toThrow(
      expect.objectContaining({ name: 'TaskTimedOut' }),
    );
  });

  it('gives a retried callback task a new token and closes the old one', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;
    const { executionArn } = executor.startExecution({
      input: { id: 'fails-once', mode: 'callback', deadlineSeconds: 60 },
    });
    const first = await world.tokenFor('fails-once', 1);
    const second = await world.tokenFor('fails-once', 2);

    // Act
    const staleAnswer = (): void => executor.sendTaskSuccess(first, '{}');
    executor.sendTaskSuccess(second, '{"attempt":2}');
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(second).not.toBe(first);
    expect(staleAnswer).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
    expect(JSON.parse(result.output ?? 'null').state.callback).toEqual({ attempt: 2 });
  });

  it('gives every execution its own token', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;
    executor.startExecution({ input: { id: 't1', mode: 'callback', deadlineSeconds: 60 } });
    executor.startExecution({ input: { id: 't2', mode: 'callback', deadlineSeconds: 60 } });

    // Act
    const tokens = await Promise.all([world.tokenFor('t1'), world.tokenFor('t2')]);

    // Assess
    expect(tokens[0]).not.toBe(tokens[1]);
    expect(tokens[0]).toMatch(/^[A-Za-z0-9_-]{64}$/);
  });

  it('aborts at stopExecution: ABORTED at once, the token closed, nothing after it runs', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;
    const { executionArn } = executor.startExecution({
      input: { id: 'x', mode: 'callback', deadlineSeconds: 60 },
    });
    const token = await world.tokenFor('x');

    // Act
    const { stopDate } = executor.stopExecution(executionArn, {
      error: 'OperatorStop',
      cause: 'stopped by a test',
    });
    const described = executor.describeExecution(executionArn);
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(described).toMatchObject({
      status: 'ABORTED',
      stopDate,
      error: 'OperatorStop',
      cause: 'stopped by a test',
    });
    expect(result.status).toBe('ABORTED');
    expect(() => executor.sendTaskSuccess(token, '{}')).toThrow(
      expect.objectContaining({ name: 'TaskTimedOut' }),
    );
    expect(executor.getExecutionHistory(executionArn).events.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'OperatorStop', cause: 'stopped by a test' },
    });
    expect(world.calls.get('Finish:x')).toBeUndefined();
    expect(executor.listExecutions({ statusFilter: 'ABORTED' }).map((e) => e.executionArn)).toEqual([
      executionArn,
    ]);
  });

  it('rejects unknown tokens, heartbeats of closed tasks and output that is not JSON', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;
    const { executionArn } = executor.startExecution({
      input: { id: 'u', mode: 'callback', deadlineSeconds: 60 },
    });
    const token = await world.tokenFor('u');

    // Act & Assess
    expect(() => executor.sendTaskSuccess('not-a-token', '{}')).toThrow(
      expect.objectContaining({ name: 'TaskDoesNotExist', statusCode: 400 }),
    );
    expect(() => executor.sendTaskFailure('not-a-token')).toThrow(
      expect.objectContaining({ name: 'TaskDoesNotExist' }),
    );
    expect(() => executor.sendTaskSuccess(token, '{not json')).toThrow(
      expect.objectContaining({ name: 'InvalidOutput' }),
    );
    executor.sendTaskHeartbeat(token);
    executor.sendTaskSuccess(token, '{}');
    await executor.waitForExecution(executionArn);
    expect(() => executor.sendTaskHeartbeat(token)).toThrow(
      expect.objectContaining({ name: 'TaskTimedOut' }),
    );
  });
});
