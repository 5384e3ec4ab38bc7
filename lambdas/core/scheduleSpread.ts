import type { ClientSpec } from './clientSpec.js';

/** A file entry, as much as spreading needs (applyPlan.ts's PlannedEntry). */
interface ScheduledEntry {
  readonly spec: ClientSpec;
  readonly line: number;
  readonly index: number;
}

/*
 * Schedules that never stampede. Clients that share a schedule expression (the same cron in the
 * same zone, or a rate all created by one apply) would all start at one instant and ask Stytch
 * for more than the project's budget allows. EventBridge Scheduler starts each schedule at a
 * random moment of its flexible window; every schedule gets one, wide enough that its group's
 * rotations fit the budget with room to spare. Pure: what `rotator apply` plans with.
 */

/** The window of a schedule whose entry names none, when its group needs no more. */
export const DEFAULT_FLEXIBLE_WINDOW_MINUTES = 15;
/** Windows a group needs are rounded up to this step, so a fleet that grows a little keeps its windows. */
export const WINDOW_STEP_MINUTES = 15;
/** EventBridge Scheduler's longest flexible window. */
export const MAX_FLEXIBLE_WINDOW_MINUTES = 1440;
/**
 * Stytch management requests of one healthy rotation (rotate/start, rotate); its token requests
 * (the new secret's self-test, the old one refused) are as many, in a budget of their own.
 */
export const STYTCH_REQUESTS_PER_ROTATION = 2;
// A group may fill half of its window's budget: Scheduler's random starts cluster, and rotations
// started by hand or by a leak take from the same budget.
const HEADROOM = 0.5;

/** The shortest window, in whole steps, over which `clients` rotations fit `requestsPerSecond`. */
export function minimumWindowMinutes(clients: number, requestsPerSecond: number): number {
  const seconds = (clients * STYTCH_REQUESTS_PER_ROTATION) / (requestsPerSecond * HEADROOM);
  const steps = Math.ceil(seconds / 60 / WINDOW_STEP_MINUTES);
  return Math.max(DEFAULT_FLEXIBLE_WINDOW_MINUTES, steps * WINDOW_STEP_MINUTES);
}

/** An entry whose window cannot hold its group's rotations. */
export interface SpreadProblem {
  readonly line: number;
  readonly index: number;
  readonly message: string;
}

/**
 * Gives every scheduled entry its flexible window: the one it names, else the larger of the
 * default and what its group needs. A named window shorter than its group needs, and a group
 * that needs more than a day, are problems (the entries keep what they had).
 */
export function spreadSchedules<E extends ScheduledEntry>(
  entries: readonly E[],
  requestsPerSecond: number,
): { readonly entries: readonly E[]; readonly problems: readonly SpreadProblem[] } {
  const groups = new Map<string, number>();
  for (const { spec } of entries) {
    if (spec.schedule === undefined) continue;
    const key = groupKey(spec.schedule);
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const problems: SpreadProblem[] = [];
  const tooLarge = new Set<string>();
  const spread = entries.map((entry): E => {
    const { schedule } = entry.spec;
    if (schedule === undefined) return entry;
    const clients = groups.get(groupKey(schedule)) ?? 1;
    const needed = minimumWindowMinutes(clients, requestsPerSecond);
    const at = `${schedule.expression} (${schedule.timeZone})`;
    const who = clients === 1 ? '1 client starts' : `${clients.toLocaleString('en-US')} clients start`;
    const load = `${who} at ${at}: at ${requestsPerSecond} Stytch requests/s ${clients === 1 ? 'it needs' : 'they need'} a window of at least ${needed} minutes`;
    if (needed > MAX_FLEXIBLE_WINDOW_MINUTES) {
      // Said once, at the group's first entry.
      if (tooLarge.has(groupKey(schedule))) return entry;
      tooLarge.add(groupKey(schedule));
      problems.push({
        line: entry.line,
        index: entry.index,
        message: `schedule: ${load}, more than a day: give some of them another expression`,
      });
      return entry;
    }
    if (schedule.flexibleWindowMinutes !== undefined) {
      if (schedule.flexibleWindowMinutes < needed) {
        problems.push({
          line: entry.line,
          index: entry.index,
          message: `schedule.flexibleWindowMinutes: ${schedule.flexibleWindowMinutes} is too short: ${load} (or leave it out)`,
        });
      }
      return entry;
    }
    return { ...entry, spec: { ...entry.spec, schedule: { ...schedule, flexibleWindowMinutes: needed } } };
  });
  return { entries: spread, problems };
}

function groupKey(schedule: { readonly expression: string; readonly timeZone: string }): string {
  return `${schedule.timeZone} ${schedule.expression}`;
}
