import { afterEach, describe, expect, it } from 'vitest';
import { createFixtureWorld, type FixtureWorld } from './fixtures/fixtureExecutor.js';

// The fixture's definition comes from aws-cdk-lib (fixtures/fixtureStack.ts), never written by hand.
describe('Class: LocalExecutor (Lambda tasks, Retry, Catch, Choice)', () => {
  let world: FixtureWorld | undefined;
  afterEach(async () => {
    await world?.executor.close();
    world = undefined;
  });

  it('runs two Lambda tasks through the Choice: lambda:invoke with OutputPath $.Payload, then a Lambda ARN', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;

    // Act
    const { executionArn } = executor.startExecution({ input: { id: 'a', mode: 'direct' }, name: 'run-a' });
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toEqual({
      finished: true,
      state: { id: 'a', mode: 'direct', prepared: 1 },
      executionId: executionArn,
      executionName: 'run-a',
      startTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      stateMachineId: executor.stateMachineArn,
    });
    expect(world.calls.get('Await:a')).toBeUndefined();
  });

  it('retries a custom error name with the scaled interval until the handler succeeds', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;

    // Act
    const { executionArn } = executor.startExecution({
      input: { id: 'r', mode: 'direct', prepare: 'transientTwice' },
    });
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(world.calls.get('Prepare:r')).toBe(3);
    const { events } = executor.getExecutionHistory(executionArn);
    const failures = events.filter((event) => event.type === 'TaskFailed');
    expect(failures.map((event) => event.taskFailedEventDetails?.error)).toEqual([
      'TransientError',
      'TransientError',
    ]);
    expect(events.filter((event) => event.type === 'TaskScheduled')).toHaveLength(3);
  });

  it('catches an error by name into $.error with a Cause that parses as Lambda error JSON', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;

    // Act
    const { executionArn } = executor.startExecution({
      input: { id: 'p', mode: 'direct', prepare: 'permanent' },
    });
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const output = JSON.parse(result.output ?? 'null');
    expect(output).toMatchObject({ id: 'p', mode: 'direct', error: { Error: 'PermanentError' } });
    expect(JSON.parse(output.error.Cause)).toMatchObject({
      errorType: 'PermanentError',
      errorMessage: 'client is not managed',
    });
    expect(world.calls.get('Finish:p')).toBeUndefined();
  });

  it('fails the execution with the uncaught error name and a JSON cause', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;

    // Act
    const { executionArn } = executor.startExecution({
      input: { id: 'c', mode: 'direct', prepare: 'crash' },
    });
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'Boom' });
    expect(JSON.parse(result.cause ?? '')).toMatchObject({ errorType: 'Boom', errorMessage: 'unexpected' });
    expect(result.output).toBeUndefined();
    const last = executor.getExecutionHistory(executionArn).events.at(-1);
    expect(last).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: { error: 'Boom' } });
  });

  it('describes, lists and records history in the shapes of the AWS API', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;
    const first = executor.startExecution({ input: { id: 'h1', mode: 'direct' }, name: 'h1' });
    await executor.waitForExecution(first.executionArn);
    const second = executor.startExecution({
      input: { id: 'h2', mode: 'direct', prepare: 'crash' },
      name: 'h2',
    });
    await executor.waitForExecution(second.executionArn);

    // Act
    const described = executor.describeExecution(first.executionArn);
    const listed = executor.listExecutions();
    const failedOnly = executor.listExecutions({ statusFilter: 'FAILED' });
    const { events } = executor.getExecutionHistory(first.executionArn);

    // Assess
    expect(first.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:Workflow193EF7C1:h1');
    expect(described).toEqual({
      executionArn: first.executionArn,
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Workflow193EF7C1',
      name: 'h1',
      status: 'SUCCEEDED',
      startDate: first.startDate,
      stopDate: expect.any(Date),
      input: '{"id":"h1","mode":"direct"}',
      inputDetails: { included: true },
      output: expect.any(String),
      outputDetails: { included: true },
    });
    expect(listed.map((item) => item.name)).toEqual(['h2', 'h1']);
    expect(listed[0]).toEqual({
      executionArn: second.executionArn,
      stateMachineArn: executor.stateMachineArn,
      name: 'h2',
      status: 'FAILED',
      startDate: second.startDate,
      stopDate: expect.any(Date),
    });
    expect(failedOnly.map((item) => item.name)).toEqual(['h2']);

    expect(events.map((event) => [event.type, stateName(event)])).toEqual([
      ['ExecutionStarted', undefined],
      ['TaskStateEntered', 'Prepare'],
      ['TaskScheduled', undefined],
      ['TaskStarted', undefined],
      ['TaskSucceeded', undefined],
      ['TaskStateExited', 'Prepare'],
      ['ChoiceStateEntered', 'Route'],
      ['ChoiceStateExited', 'Route'],
      ['TaskStateEntered', 'Finish'],
      ['LambdaFunctionScheduled', undefined],
      ['LambdaFunctionStarted', undefined],
      ['LambdaFunctionSucceeded', undefined],
      ['TaskStateExited', 'Finish'],
      ['ExecutionSucceeded', undefined],
    ]);
    events.forEach((event, i) => {
      expect(event.id).toBe(i + 1);
      expect(event.previousEventId).toBe(i);
      expect(event.timestamp).toBeInstanceOf(Date);
    });
    expect(events[0]?.executionStartedEventDetails).toEqual({
      input: '{"id":"h1","mode":"direct"}',
      inputDetails: { truncated: false },
      roleArn: 'arn:aws:iam::123456789012:role/WorkflowRole98C7DC98',
    });
    const scheduled = events[2]?.taskScheduledEventDetails;
    expect(scheduled).toMatchObject({ resourceType: 'lambda', resource: 'invoke', region: 'us-east-1' });
    expect(JSON.parse(scheduled?.parameters ?? '')).toEqual({
      FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:PrepareFunction8FAA640B',
      Payload: { id: 'h1', mode: 'direct' },
    });
    expect(JSON.parse(events[4]?.taskSucceededEventDetails?.output ?? '')).toMatchObject({
      StatusCode: 200,
      ExecutedVersion: '$LATEST',
      Payload: { id: 'h1', mode: 'direct', prepared: 1 },
    });
    expect(JSON.parse(events[5]?.stateExitedEventDetails?.output ?? '')).toEqual({
      id: 'h1',
      mode: 'direct',
      prepared: 1,
    });
    expect(events.at(-1)?.executionSucceededEventDetails?.output).toBe(described.output);
  });

  it('answers API misuse with the AWS error names', async () => {
    // Prepare
    world = createFixtureWorld();
    const { executor } = world;
    const { executionArn } = executor.startExecution({ input: { id: 'd', mode: 'direct' }, name: 'dup' });
    await executor.waitForExecution(executionArn);

    // Act & Assess
    expect(() => executor.startExecution({ input: { id: 'd', mode: 'direct' }, name: 'dup' })).toThrow(
      expect.objectContaining({ name: 'ExecutionAlreadyExists' }),
    );
    expect(() => executor.startExecution({ input: {}, name: 'has space' })).toThrow(
      expect.objectContaining({ name: 'InvalidName' }),
    );
    expect(() => executor.describeExecution(`${executionArn}-nope`)).toThrow(
      expect.objectContaining({ name: 'ExecutionDoesNotExist', statusCode: 400 }),
    );
    expect(() =>
      executor.listExecutions({ stateMachineArn: 'arn:aws:states:us-east-1:1:stateMachine:x' }),
    ).toThrow(expect.objectContaining({ name: 'StateMachineDoesNotExist' }));
  });
});

function stateName(event: {
  stateEnteredEventDetails?: { name?: string | undefined } | undefined;
  stateExitedEventDetails?: { name?: string | undefined } | undefined;
}): string | undefined {
  return event.stateEnteredEventDetails?.name ?? event.stateExitedEventDetails?.name;
}
