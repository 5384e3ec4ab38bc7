/**
 * Validation of EventBridge Scheduler expressions. moto accepts any string and AWS only rejects
 * a bad one at deploy time, so we check them at synth, with the path of the offending client.
 */

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(([^)]+)\)$/;

// One alternative per field of Scheduler's six-field cron: minutes hours day-of-month month
// day-of-week year. Kept permissive within each field's alphabet; AWS checks the ranges at deploy.
const CRON_FIELDS = [
  /^(\*|[0-5]?\d)([,/-][0-5]?\d)*$/,
  /^(\*|[01]?\d|2[0-3])([,/-]([01]?\d|2[0-3]))*$/,
  /^(\*|\?|L|W|\d{1,2}W?|L-\d{1,2})([,/-]\d{1,2})*$/,
  /^(\*|(\d{1,2}|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))([,/-](\d{1,2}|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))*$/i,
  /^(\*|\?|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5])?)([,/-]([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT))*$/i,
  /^(\*|\d{4})([,/-]\d{1,4})*$/,
] as const;

/** Returns why `expression` is not a valid rate or cron expression, or undefined when it is. */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] ?? '';
    if (value < 1) return 'rate value must be at least 1';
    if (value === 1 && unit.endsWith('s')) return `use the singular unit for 1: rate(1 ${unit.slice(0, -1)})`;
    if (value > 1 && !unit.endsWith('s')) return `use the plural unit for ${value}: rate(${value} ${unit}s)`;
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (cron) {
    const fields = (cron[1] ?? '').trim().split(/\s+/);
    if (fields.length !== 6)
      return `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
    const bad = fields.findIndex((field, index) => !CRON_FIELDS[index]?.test(field));
    if (bad >= 0) return `cron field ${bad + 1} ("${fields[bad]}") is not valid`;
    const [, , dayOfMonth, , dayOfWeek] = fields;
    if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
      return 'cron needs "?" in exactly one of day-of-month and day-of-week';
    }
    return undefined;
  }
  return 'must be rate(N unit) or cron(minutes hours day-of-month month day-of-week year)';
}

/** Whether `zone` is an IANA time zone this runtime knows (Scheduler uses the same database). */
export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
