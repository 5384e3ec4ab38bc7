import { describe, expect, it } from 'vitest';
import { nextCronFire, ratePeriodSeconds } from '../../../lambdas/core/scheduleExpression.js';

describe('ratePeriodSeconds', () => {
  it.each([
    ['rate(30 days)', 30 * 86_400],
    ['rate(1 day)', 86_400],
    ['rate(12 hours)', 12 * 3600],
    ['rate(5 minutes)', 300],
  ])('%s is %d s', (expression, seconds) => {
    expect(ratePeriodSeconds(expression)).toBe(seconds);
  });

  it('is undefined for a cron expression', () => {
    expect(ratePeriodSeconds('cron(0 3 ? * MON *)')).toBeUndefined();
  });
});

describe('nextCronFire', () => {
  it('finds the next Monday 03:00 in Berlin (winter: UTC+1)', () => {
    // 2026-12-02 is a Wednesday.
    const next = nextCronFire('cron(0 3 ? * MON *)', 'Europe/Berlin', new Date('2026-12-02T05:00:00Z'));
    expect(next?.toISOString()).toBe('2026-12-07T02:00:00.000Z');
  });

  it('follows daylight saving time (summer: UTC+2)', () => {
    const next = nextCronFire('cron(0 3 ? * MON *)', 'Europe/Berlin', new Date('2026-07-01T00:00:00Z'));
    expect(next?.toISOString()).toBe('2026-07-06T01:00:00.000Z');
  });

  it('handles a half-hour offset zone and a day-of-month schedule', () => {
    // 03:15 on the 1st of the month in Kolkata (UTC+5:30) is 21:45 UTC the day before.
    const next = nextCronFire('cron(15 3 1 * ? *)', 'Asia/Kolkata', new Date('2026-12-02T00:00:00Z'));
    expect(next?.toISOString()).toBe('2026-12-31T21:45:00.000Z');
  });

  it('reads steps, ranges, lists and month names', () => {
    const after = new Date('2026-12-02T10:07:00Z');
    expect(nextCronFire('cron(*/20 9-17 ? * MON-FRI *)', 'UTC', after)?.toISOString()).toBe(
      '2026-12-02T10:20:00.000Z',
    );
    expect(nextCronFire('cron(0 0 1 JAN,JUL ? *)', 'UTC', after)?.toISOString()).toBe(
      '2027-01-01T00:00:00.000Z',
    );
  });

  it('is strictly after the given time', () => {
    const at = new Date('2026-12-07T02:00:00Z');
    expect(nextCronFire('cron(0 3 ? * MON *)', 'Europe/Berlin', at)?.toISOString()).toBe(
      '2026-12-14T02:00:00.000Z',
    );
  });

  it('says undefined rather than guess for L, W and #, a rate, or a year in the past', () => {
    const after = new Date('2026-12-02T00:00:00Z');
    expect(nextCronFire('cron(0 3 L * ? *)', 'UTC', after)).toBeUndefined();
    expect(nextCronFire('cron(0 3 ? * 2#1 *)', 'UTC', after)).toBeUndefined();
    expect(nextCronFire('rate(7 days)', 'UTC', after)).toBeUndefined();
    expect(nextCronFire('cron(0 3 1 1 ? 2020)', 'UTC', after)).toBeUndefined();
  });
});
