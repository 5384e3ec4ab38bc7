import { z } from 'zod';
import type { AwsClients } from '#adapters/aws/awsClients.js';
import { SchedulerSchedules } from '#adapters/aws/SchedulerSchedules.js';
import { nextCronFire, ratePeriodSeconds } from '#core/scheduleExpression.js';

/** A client's rotation schedule as EventBridge Scheduler holds it. */
export interface ClientSchedule {
  readonly name: string;
  readonly group: string;
  readonly expression: string;
  readonly timeZone: string;
}

/** The schedule's view in `status`: when the next rotation is due and how old the policy lets a secret get. */
export interface ScheduleView {
  readonly expression: string;
  readonly timeZone: string;
  /**
   * `rate(...)`: when the current secret is due (its creation + the period: Scheduler's own rate
   * clock starts at the schedule's creation and is not visible); `cron(...)`: its next occurrence.
   * Null when it cannot be worked out (`L`, `W`, `#` in a cron).
   */
  readonly nextRotation: string | null;
  /** The period: the longest a current secret should live under this schedule. */
  readonly maxAgeSeconds: number | null;
}

const ScheduleInputSchema = z.object({ clientId: z.string(), trigger: z.literal('schedule') });

/**
 * Every schedule that starts a scheduled rotation, by client id: ListSchedules over every group,
 * then GetSchedule for each (the target's input names the client).
 */
export async function clientSchedules(
  aws: Pick<AwsClients, 'scheduler'>,
): Promise<Map<string, ClientSchedule>> {
  const found = new Map<string, ClientSchedule>();
  for (const schedule of await new SchedulerSchedules({ client: aws.scheduler }).all()) {
    let input: unknown;
    try {
      input = JSON.parse(schedule.targetInput ?? 'null');
    } catch {
      continue;
    }
    const parsed = ScheduleInputSchema.safeParse(input);
    if (!parsed.success || schedule.expression === undefined) continue;
    found.set(parsed.data.clientId, {
      name: schedule.name,
      group: schedule.group,
      expression: schedule.expression,
      timeZone: schedule.timeZone ?? 'UTC',
    });
  }
  return found;
}

/** When the schedule rotates next, and the longest a secret should live under it. */
export function scheduleView(
  schedule: ClientSchedule,
  currentCreatedAt: Date | undefined,
  now: Date,
): ScheduleView {
  const period = ratePeriodSeconds(schedule.expression);
  if (period !== undefined) {
    return {
      expression: schedule.expression,
      timeZone: schedule.timeZone,
      nextRotation:
        currentCreatedAt === undefined
          ? null
          : new Date(currentCreatedAt.getTime() + period * 1000).toISOString(),
      maxAgeSeconds: period,
    };
  }
  const next = nextCronFire(schedule.expression, schedule.timeZone, now);
  const after = next === undefined ? undefined : nextCronFire(schedule.expression, schedule.timeZone, next);
  return {
    expression: schedule.expression,
    timeZone: schedule.timeZone,
    nextRotation: next?.toISOString() ?? null,
    maxAgeSeconds:
      next === undefined || after === undefined ? null : (after.getTime() - next.getTime()) / 1000,
  };
}
