import { inspect } from 'node:util';
import {
  InvalidOutput,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError, MAX_CAUSE_LENGTH, SfnTaskCallbacks } from '#adapters/aws/index.js';

// A task token lets anyone answer the task: it must stay out of logs and errors, like a secret.
const TASK_TOKEN = 'LEAK-task-token-AAAAKgAAAAIAAAAAAAAAAf9c';
const meta = { httpStatusCode: 400, requestId: 'req', attempts: 1 };

describe('Class: SfnTaskCallbacks', () => {
  const sfn = mockClient(SFNClient);
  const lines: { message: string; attributes: Record<string, unknown> }[] = [];
  let callbacks: SfnTaskCallbacks;

  beforeEach(() => {
    sfn.reset();
    lines.length = 0;
    callbacks = new SfnTaskCallbacks({
      client: new SFNClient({}),
      logger: { warn: (message, attributes) => lines.push({ message, attributes }) },
    });
  });

  afterEach(() => {
    sfn.reset();
  });

  it('sends the output as JSON and says the task took it', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).resolves({});

    // Act
    const took = await callbacks.sendSuccess(TASK_TOKEN, { healthy: ['billing-api'] });
    await callbacks.succeed(TASK_TOKEN, undefined);

    // Assess
    expect(took).toBe(true);
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input)).toEqual([
      { taskToken: TASK_TOKEN, output: '{"healthy":["billing-api"]}' },
      { taskToken: TASK_TOKEN, output: 'null' },
    ]);
  });

  it('sends a failure with the cause cut to Step Functions’ 32 768-character limit', async () => {
    // Prepare
    sfn.on(SendTaskFailureCommand).resolves({});

    // Act
    await callbacks.fail(TASK_TOKEN, 'ConsumerUnhealthy', 'x'.repeat(40_000));
    await callbacks.fail(TASK_TOKEN, 'ConsumerUnhealthy', 'short cause');

    // Assess
    const inputs = sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input);
    expect(inputs[0]?.cause).toHaveLength(MAX_CAUSE_LENGTH);
    expect(inputs[0]?.cause?.endsWith('…[truncated]')).toBe(true);
    expect(inputs[0]?.error).toBe('ConsumerUnhealthy');
    expect(inputs[1]).toEqual({ taskToken: TASK_TOKEN, error: 'ConsumerUnhealthy', cause: 'short cause' });
  });

  it('does not split a surrogate pair when it cuts', async () => {
    // Prepare
    sfn.on(SendTaskFailureCommand).resolves({});

    // Act
    await callbacks.fail(TASK_TOKEN, 'E', '😀'.repeat(MAX_CAUSE_LENGTH));

    // Assess
    const cause = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input.cause ?? '';
    expect(Array.from(cause)).toHaveLength(MAX_CAUSE_LENGTH);
    expect(cause.isWellFormed()).toBe(true);
  });

  it.each([
    ['TaskTimedOut', new TaskTimedOut({ message: 'Task Timed Out', $metadata: meta })],
    ['TaskDoesNotExist', new TaskDoesNotExist({ message: 'Task does not exist', $metadata: meta })],
    ['InvalidToken', new InvalidToken({ message: 'Invalid token', $metadata: meta })],
  ])('treats %s as "already answered or gone": false, a warning, no throw', async (code, cause) => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).rejects(cause);
    sfn.on(SendTaskFailureCommand).rejects(cause);

    // Act
    const success = await callbacks.sendSuccess(TASK_TOKEN, {});
    const failure = await callbacks.sendFailure(TASK_TOKEN, 'E', 'c');
    await callbacks.succeed(TASK_TOKEN, {});
    await callbacks.fail(TASK_TOKEN, 'E', 'c');

    // Assess
    expect([success, failure]).toEqual([false, false]);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({
      message: 'Task already answered or gone; nothing to send',
      attributes: { operation: 'SendTaskSuccess', errorCode: code },
    });
    expect(JSON.stringify(lines)).not.toContain(TASK_TOKEN);
  });

  it.each([
    ['TaskTimedOut', new TaskTimedOut({ message: 'Task Timed Out', $metadata: meta })],
    ['TaskDoesNotExist', new TaskDoesNotExist({ message: 'Task does not exist', $metadata: meta })],
    ['InvalidToken', new InvalidToken({ message: 'Invalid token', $metadata: meta })],
  ])(
    'says which gone code AWS answered (%s) to a caller that reports it, null when the task took it',
    async (code, cause) => {
      // Prepare
      sfn.on(SendTaskFailureCommand).resolvesOnce({}).rejects(cause);

      // Act
      const took = await callbacks.sendFailureOrGone(
        TASK_TOKEN,
        'OperatorCancelled',
        'Cancelled by cli:tester',
      );
      const gone = await callbacks.sendFailureOrGone(
        TASK_TOKEN,
        'OperatorCancelled',
        'Cancelled by cli:tester',
      );

      // Assess
      expect([took, gone]).toEqual([null, code]);
      expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toEqual({
        taskToken: TASK_TOKEN,
        error: 'OperatorCancelled',
        cause: 'Cancelled by cli:tester',
      });
    },
  );

  it.each([
    ['ThrottlingException', 400, true],
    ['ServiceUnavailable', 503, true],
    ['InvalidOutput', 400, false],
  ])('wraps %s once, retryable=%s, without the task token', async (name, httpStatusCode, retryable) => {
    // Prepare
    const cause =
      name === 'InvalidOutput'
        ? new InvalidOutput({ message: 'Invalid output', $metadata: meta })
        : Object.assign(new Error(name), {
            name,
            $fault: httpStatusCode >= 500 ? 'server' : 'client',
            $metadata: { httpStatusCode },
          });
    sfn.on(SendTaskSuccessCommand).rejects(cause);

    // Act
    const error = await callbacks.succeed(TASK_TOKEN, {}).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({ service: 'SFN', operation: 'SendTaskSuccess', errorCode: name });
    expect((error as AwsServiceError).retryable).toBe(retryable);
    expect(inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true })).not.toContain(TASK_TOKEN);
    expect(lines).toEqual([]);
  });
});
