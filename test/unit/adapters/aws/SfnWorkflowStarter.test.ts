import { SFNClient, StartExecutionCommand, StateMachineDoesNotExist } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError, SfnWorkflowStarter } from '#adapters/aws/index.js';

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:Rotation';
const INPUT = { clientId: 'm2m-client-test-a', trigger: 'manual', requestedBy: 'cli:tester' } as const;

describe('Class: SfnWorkflowStarter, method startNew', () => {
  const sfn = mockClient(SFNClient);
  let starter: SfnWorkflowStarter;

  beforeEach(() => {
    sfn.reset();
    starter = new SfnWorkflowStarter({ client: new SFNClient({}), stateMachineArn: STATE_MACHINE_ARN });
  });

  afterEach(() => {
    sfn.reset();
  });

  it('starts an execution without a name (Step Functions names it) and returns its ARN', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${STATE_MACHINE_ARN}:run-1`, startDate: new Date() });

    // Act
    const executionArn = await starter.startNew(INPUT);

    // Assess
    expect(executionArn).toBe(`${STATE_MACHINE_ARN}:run-1`);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: STATE_MACHINE_ARN,
      input: JSON.stringify(INPUT),
    });
  });

  it('wraps a failure once, naming the state machine, with the SDK error as its cause', async () => {
    // Prepare
    const cause = new StateMachineDoesNotExist({
      message: 'State Machine Does Not Exist',
      $metadata: { httpStatusCode: 400 },
    });
    sfn.on(StartExecutionCommand).rejects(cause);

    // Act
    const error = await starter.startNew(INPUT).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      operation: 'StartExecution',
      resource: STATE_MACHINE_ARN,
      errorCode: 'StateMachineDoesNotExist',
      cause,
    });
  });
});
