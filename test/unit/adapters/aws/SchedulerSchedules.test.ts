import {
  ConflictException,
  CreateScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError, type NewRotationSchedule, SchedulerSchedules } from '#adapters/aws/index.js';

const meta = { httpStatusCode: 409, requestId: 'req', attempts: 1 };
const SCHEDULE: NewRotationSchedule = {
  name: 'rotate-m2m-client-test-a',
  group: 'rotator-registered',
  description: 'Scheduled rotation of m2m-client-test-a',
  expression: 'rate(30 days)',
  timeZone: 'Europe/Paris',
  flexibleWindowMinutes: 15,
  stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Rotation',
  roleArn: 'arn:aws:iam::123456789012:role/scheduler',
  input: { clientId: 'm2m-client-test-a', trigger: 'schedule' },
};

describe('Class: SchedulerSchedules', () => {
  const scheduler = mockClient(SchedulerClient);
  let schedules: SchedulerSchedules;

  beforeEach(() => {
    scheduler.reset();
    schedules = new SchedulerSchedules({ client: new SchedulerClient({}) });
  });

  afterEach(() => {
    scheduler.reset();
  });

  it('reads every schedule of every page, each with its expression, time zone and target input', async () => {
    // Prepare
    scheduler
      .on(ListSchedulesCommand)
      .resolvesOnce({
        Schedules: [{ Name: 'a', GroupName: 'g1' }, { GroupName: 'nameless' }],
        NextToken: 't',
      })
      .resolvesOnce({ Schedules: [{ Name: 'b' }], NextToken: '' });
    scheduler
      .on(GetScheduleCommand, { Name: 'a', GroupName: 'g1' })
      .resolves({
        ScheduleExpression: 'rate(7 days)',
        ScheduleExpressionTimezone: 'UTC',
        Target: { Arn: 'x', RoleArn: 'r', Input: '{"clientId":"a"}' },
      })
      .on(GetScheduleCommand, { Name: 'b' })
      .resolves({ ScheduleExpression: 'cron(0 3 * * ? *)' });

    // Act
    const found = await schedules.all();

    // Assess
    expect(found).toEqual([
      {
        name: 'a',
        group: 'g1',
        expression: 'rate(7 days)',
        timeZone: 'UTC',
        targetInput: '{"clientId":"a"}',
      },
      {
        name: 'b',
        group: 'default',
        expression: 'cron(0 3 * * ? *)',
        timeZone: undefined,
        targetInput: undefined,
      },
    ]);
    expect(scheduler.commandCalls(ListSchedulesCommand).map((call) => call.args[0].input)).toEqual([
      { NextToken: undefined },
      { NextToken: 't' },
    ]);
  });

  it('creates an enabled schedule that starts the state machine with the input as JSON', async () => {
    // Prepare
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    // Act
    const created = await schedules.createRotationSchedule(SCHEDULE);
    await schedules.createRotationSchedule({ ...SCHEDULE, flexibleWindowMinutes: undefined });

    // Assess
    expect(created).toBe(true);
    const inputs = scheduler.commandCalls(CreateScheduleCommand).map((call) => call.args[0].input);
    expect(inputs[0]).toEqual({
      Name: SCHEDULE.name,
      GroupName: SCHEDULE.group,
      Description: SCHEDULE.description,
      ScheduleExpression: 'rate(30 days)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      Target: {
        Arn: SCHEDULE.stateMachineArn,
        RoleArn: SCHEDULE.roleArn,
        Input: '{"clientId":"m2m-client-test-a","trigger":"schedule"}',
        // A few retries within a day; no dead-letter queue unless one is given.
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 86_400 },
      },
      State: 'ENABLED',
    });
    expect(inputs[1]?.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
  });

  it('sends a start that failed after its retries to the dead-letter queue it is given', async () => {
    // Prepare
    scheduler.on(CreateScheduleCommand).resolves({});
    const deadLetterQueueArn = 'arn:aws:sqs:us-east-1:123456789012:rotator-dlq';

    // Act
    await schedules.createRotationSchedule({ ...SCHEDULE, deadLetterQueueArn });

    // Assess
    expect(scheduler.commandCalls(CreateScheduleCommand)[0]?.args[0].input.Target).toMatchObject({
      RetryPolicy: { MaximumRetryAttempts: 3 },
      DeadLetterConfig: { Arn: deadLetterQueueArn },
    });
  });

  it('answers false for a schedule of that name already in the group (a re-run keeps it)', async () => {
    // Prepare
    scheduler
      .on(CreateScheduleCommand)
      .rejects(new ConflictException({ message: 'exists', Message: 'exists', $metadata: meta }));

    // Act
    const created = await schedules.createRotationSchedule(SCHEDULE);

    // Assess
    expect(created).toBe(false);
  });

  it('wraps any other failure once, naming the operation and the schedule', async () => {
    // Prepare
    const denied = Object.assign(new Error('denied'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
    scheduler.on(CreateScheduleCommand).rejects(denied);
    scheduler.on(ListSchedulesCommand).rejects(denied);

    // Act
    const createError = await schedules.createRotationSchedule(SCHEDULE).catch((error: unknown) => error);
    const listError = await schedules.all().catch((error: unknown) => error);

    // Assess
    expect(createError).toBeInstanceOf(AwsServiceError);
    expect(createError).toMatchObject({
      service: 'Scheduler',
      operation: 'CreateSchedule',
      resource: 'rotator-registered/rotate-m2m-client-test-a',
      errorCode: 'AccessDeniedException',
      cause: denied,
    });
    expect(listError).toMatchObject({ operation: 'ListSchedules', errorCode: 'AccessDeniedException' });
  });
});
