import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { awsErrorCode, wrapAwsError } from './errors.js';

/** Props of {@link SchedulerSchedules}. */
export interface SchedulerSchedulesProps {
  /** Built once per run by the caller (the CLI builds one per command). */
  readonly client: SchedulerClient;
}

/** A schedule as EventBridge Scheduler holds it: only what the rotator reads. */
export interface ScheduleDescription {
  readonly name: string;
  /** Its group (`default` when Scheduler names none). */
  readonly group: string;
  /** `rate(…)`, `cron(…)` or `at(…)`; undefined when Scheduler returns none. */
  readonly expression: string | undefined;
  /** The IANA time zone of `expression`; undefined when none is set (Scheduler then uses UTC). */
  readonly timeZone: string | undefined;
  /** The target's input (JSON text), which names the client for a rotation schedule. */
  readonly targetInput: string | undefined;
}

/** A schedule that starts the rotation state machine. */
export interface NewRotationSchedule {
  readonly name: string;
  readonly group: string;
  readonly description: string;
  readonly expression: string;
  readonly timeZone: string;
  /** Minutes Scheduler may start late; undefined: exactly on time (flexible window off). */
  readonly flexibleWindowMinutes?: number;
  readonly stateMachineArn: string;
  /** The role Scheduler starts executions with. */
  readonly roleArn: string;
  /** Where a start that failed after {@link SCHEDULE_RETRY_ATTEMPTS} retries goes. @default - none */
  readonly deadLetterQueueArn?: string;
  /** The execution's input (serialized as JSON). */
  readonly input: unknown;
}

/**
 * EventBridge Scheduler's schedules: every one read (ListSchedules over every group, then
 * GetSchedule for each, since only the latter tells the target's input), and one created. Failures
 * are wrapped once ({@link wrapAwsError}).
 */
export class SchedulerSchedules {
  readonly #client: SchedulerClient;

  public constructor(props: SchedulerSchedulesProps) {
    this.#client = props.client;
  }

  /** Every schedule of every group, one GetSchedule after another (in ListSchedules' order). */
  public async all(): Promise<ScheduleDescription[]> {
    const found: ScheduleDescription[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.#call('ListSchedules', undefined, () =>
        this.#client.send(new ListSchedulesCommand({ NextToken: nextToken })),
      );
      for (const summary of page.Schedules ?? []) {
        const name = summary.Name;
        if (name === undefined) continue;
        const schedule = await this.#call('GetSchedule', name, () =>
          this.#client.send(new GetScheduleCommand({ Name: name, GroupName: summary.GroupName })),
        );
        found.push({
          name,
          group: summary.GroupName ?? 'default',
          expression: schedule.ScheduleExpression,
          timeZone: schedule.ScheduleExpressionTimezone,
          targetInput: schedule.Target?.Input,
        });
      }
      nextToken = page.NextToken === '' ? undefined : page.NextToken;
    } while (nextToken !== undefined);
    return found;
  }

  /**
   * Creates an enabled schedule that starts `stateMachineArn` with `input`.
   * @returns false when a schedule of that name exists in the group already (`ConflictException`:
   *   a re-run, the schedule this name stands for), true when it was created
   */
  public async createRotationSchedule(schedule: NewRotationSchedule): Promise<boolean> {
    try {
      await this.#client.send(new CreateScheduleCommand(scheduleInput(schedule)));
      return true;
    } catch (error) {
      if (awsErrorCode(error) === 'ConflictException') return false;
      throw wrapAwsError(error, {
        service: 'Scheduler',
        operation: 'CreateSchedule',
        resource: `${schedule.group}/${schedule.name}`,
      });
    }
  }

  /**
   * Makes the schedule `schedule` says, whether or not one of that name exists: created, or
   * replaced whole (UpdateSchedule takes the full definition), so a re-run converges.
   */
  public async putRotationSchedule(schedule: NewRotationSchedule): Promise<void> {
    if (await this.createRotationSchedule(schedule)) return;
    await this.#call('UpdateSchedule', `${schedule.group}/${schedule.name}`, () =>
      this.#client.send(new UpdateScheduleCommand(scheduleInput(schedule))),
    );
  }

  /** Deletes the schedule; one already gone (a re-run) is not an error. */
  public async deleteSchedule(name: string, group: string): Promise<void> {
    try {
      await this.#client.send(new DeleteScheduleCommand({ Name: name, GroupName: group }));
    } catch (error) {
      if (awsErrorCode(error) === 'ResourceNotFoundException') return;
      throw wrapAwsError(error, {
        service: 'Scheduler',
        operation: 'DeleteSchedule',
        resource: `${group}/${name}`,
      });
    }
  }

  async #call<T>(operation: string, resource: string | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw wrapAwsError(error, {
        service: 'Scheduler',
        operation,
        ...(resource === undefined ? {} : { resource }),
      });
    }
  }
}

/** The full definition of a rotation schedule, as CreateSchedule and UpdateSchedule take it. */
function scheduleInput(schedule: NewRotationSchedule): CreateScheduleCommandInput {
  return {
    Name: schedule.name,
    GroupName: schedule.group,
    Description: schedule.description,
    ScheduleExpression: schedule.expression,
    ScheduleExpressionTimezone: schedule.timeZone,
    FlexibleTimeWindow:
      schedule.flexibleWindowMinutes === undefined
        ? { Mode: 'OFF' }
        : { Mode: 'FLEXIBLE', MaximumWindowInMinutes: schedule.flexibleWindowMinutes },
    Target: {
      Arn: schedule.stateMachineArn,
      RoleArn: schedule.roleArn,
      Input: JSON.stringify(schedule.input),
      // As the stack's own targets: a few retries within a day, then the dead-letter queue.
      RetryPolicy: { MaximumRetryAttempts: SCHEDULE_RETRY_ATTEMPTS, MaximumEventAgeInSeconds: 86_400 },
      ...(schedule.deadLetterQueueArn === undefined
        ? {}
        : { DeadLetterConfig: { Arn: schedule.deadLetterQueueArn } }),
    },
    State: 'ENABLED',
  };
}

/** Scheduler's attempts to start a rotation before the dead-letter queue. */
export const SCHEDULE_RETRY_ATTEMPTS = 3;
