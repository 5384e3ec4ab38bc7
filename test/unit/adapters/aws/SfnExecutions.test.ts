import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError, SfnExecutions } from '#adapters/aws/index.js';

const EXECUTION_ARN = 'arn:aws:states:us-east-1:123456789012:execution:Rotation:run-1';
const meta = { httpStatusCode: 400, requestId: 'req', attempts: 1 };

describe('Class: SfnExecutions', () => {
  const sfn = mockClient(SFNClient);
  let executions: SfnExecutions;

  beforeEach(() => {
    sfn.reset();
    executions = new SfnExecutions({ client: new SFNClient({}) });
  });

  afterEach(() => {
    sfn.reset();
  });

  it('describes an execution by its status, dates, output and failure', async () => {
    // Prepare
    const startDate = new Date('2026-01-01T00:00:00Z');
    const stopDate = new Date('2026-01-01T00:00:05Z');
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Rotation',
      status: 'FAILED',
      startDate,
      stopDate,
      error: 'States.TaskFailed',
      cause: 'boom',
      input: '{"clientId":"c"}',
    });

    // Act
    const described = await executions.describe(EXECUTION_ARN);

    // Assess
    expect(described).toEqual({
      status: 'FAILED',
      startDate,
      stopDate,
      output: undefined,
      error: 'States.TaskFailed',
      cause: 'boom',
    });
  });

  it('reads every page of the history, oldest first, without the execution data', async () => {
    // Prepare
    const at = new Date('2026-01-01T00:00:01Z');
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({
        events: [
          { id: 1, type: 'ExecutionStarted', timestamp: at },
          {
            id: 2,
            type: 'TaskStateEntered',
            timestamp: at,
            stateEnteredEventDetails: { name: 'StartRotation' },
          },
        ],
        nextToken: 'page-2',
      })
      .resolvesOnce({
        events: [
          {
            id: 3,
            type: 'LambdaFunctionFailed',
            timestamp: at,
            lambdaFunctionFailedEventDetails: { error: 'InvalidRequest', cause: '{"errorMessage":"no"}' },
          },
          {
            id: 4,
            type: 'TaskFailed',
            timestamp: at,
            taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', error: 'E', cause: 'c' },
          },
        ],
      });

    // Act
    const events = await executions.history(EXECUTION_ARN);

    // Assess
    expect(events).toEqual([
      { id: 1, type: 'ExecutionStarted', timestamp: at, enteredState: undefined, taskFailure: undefined },
      {
        id: 2,
        type: 'TaskStateEntered',
        timestamp: at,
        enteredState: 'StartRotation',
        taskFailure: undefined,
      },
      {
        id: 3,
        type: 'LambdaFunctionFailed',
        timestamp: at,
        enteredState: undefined,
        taskFailure: { error: 'InvalidRequest', cause: '{"errorMessage":"no"}' },
      },
      {
        id: 4,
        type: 'TaskFailed',
        timestamp: at,
        enteredState: undefined,
        taskFailure: { error: 'E', cause: 'c' },
      },
    ]);
    expect(sfn.commandCalls(GetExecutionHistoryCommand).map((call) => call.args[0].input)).toEqual([
      { executionArn: EXECUTION_ARN, maxResults: 1000, includeExecutionData: false },
      { executionArn: EXECUTION_ARN, maxResults: 1000, includeExecutionData: false, nextToken: 'page-2' },
    ]);
  });

  it('names the state the execution entered last as its current state', async () => {
    // Prepare
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: 9, type: 'TaskScheduled', timestamp: new Date() },
        {
          id: 8,
          type: 'TaskStateEntered',
          timestamp: new Date(),
          stateEnteredEventDetails: { name: 'AwaitConsumers' },
        },
        {
          id: 5,
          type: 'TaskStateEntered',
          timestamp: new Date(),
          stateEnteredEventDetails: { name: 'StartRotation' },
        },
      ],
    });

    // Act
    const state = await executions.currentState(EXECUTION_ARN);

    // Assess
    expect(state).toBe('AwaitConsumers');
    expect(sfn.commandCalls(GetExecutionHistoryCommand)[0]?.args[0].input).toEqual({
      executionArn: EXECUTION_ARN,
      reverseOrder: true,
      maxResults: 50,
      includeExecutionData: false,
    });
  });

  it('wraps a failure once, naming the operation and the execution, with the SDK error as its cause', async () => {
    // Prepare
    const cause = new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: meta });
    sfn.on(DescribeExecutionCommand).rejects(cause);
    sfn.on(GetExecutionHistoryCommand).rejects(cause);

    // Act
    const errors = await Promise.all([
      executions.describe(EXECUTION_ARN).catch((error: unknown) => error),
      executions.history(EXECUTION_ARN).catch((error: unknown) => error),
    ]);

    // Assess
    expect(errors[0]).toBeInstanceOf(AwsServiceError);
    expect(errors[0]).toMatchObject({
      service: 'SFN',
      operation: 'DescribeExecution',
      resource: EXECUTION_ARN,
      errorCode: 'ExecutionDoesNotExist',
      cause,
    });
    expect(errors[1]).toMatchObject({ operation: 'GetExecutionHistory', errorCode: 'ExecutionDoesNotExist' });
  });
});
