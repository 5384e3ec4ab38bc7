/**
 * Validation of EventBridge Scheduler expressions. moto accepts any string and AWS only rejects
 * a bad one when the schedule is created, so `rotator apply` checks them before anything changes,
 * with the line of the offending client.
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
  const known = knownZones.get(zone);
  if (known !== undefined) return known;
  let answer: boolean;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    answer = true;
  } catch {
    answer = false;
  }
  // A fleet's file names a handful of zones 10,000 times; a formatter costs ~0.1 ms to build.
  if (knownZones.size < 1000) knownZones.set(zone, answer);
  return answer;
}

const knownZones = new Map<string, boolean>();

const SECONDS_PER_UNIT: Readonly<Record<string, number>> = { minute: 60, hour: 3600, day: 86_400 };

/** The period of `rate(N unit)` in seconds; undefined for a cron expression or anything else. */
export function ratePeriodSeconds(expression: string): number | undefined {
  const rate = RATE.exec(expression);
  if (!rate) return undefined;
  return Number(rate[1]) * (SECONDS_PER_UNIT[(rate[2] ?? '').replace(/s$/, '')] ?? 0);
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
/** How far ahead {@link nextCronFire} looks: past a year, a cron that has not fired will not. */
const CRON_HORIZON_MS = 366 * 86_400_000;
const STEP_MS = 15 * 60_000;

/**
 * The values one cron field allows, or undefined for what this evaluator does not model
 * (`L`, `W`, `#`): the caller then says "unknown" rather than guess.
 */
function cronValues(field: string, min: number, max: number, names: readonly string[] = [], offset = 0) {
  if (field === '*' || field === '?')
    return new Set(Array.from({ length: max - min + 1 }, (_, i) => min + i));
  // `L`, `W` and `#` are not modelled; the letters of names (`JUL`, `WED`) are not them.
  const bare = names.reduce((text, name) => text.replaceAll(name, ''), field.toUpperCase());
  if (/[LW#]/.test(bare)) return undefined;
  const value = (text: string): number => {
    const named = names.indexOf(text.toUpperCase());
    return named >= 0 ? named + offset : Number(text);
  };
  const allowed = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const [fromText = '', toText] = range.split('-');
    const from = range === '*' ? min : value(fromText);
    const to = toText !== undefined ? value(toText) : stepText !== undefined ? max : from;
    if (![from, to, step].every(Number.isInteger) || step < 1) return undefined;
    for (let v = from; v <= to; v += step) allowed.add(v);
  }
  return allowed;
}

/** The wall-clock fields of `instant` in `timeZone`. */
function localParts(instant: Date, format: Intl.DateTimeFormat) {
  const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(String(parts.weekday).toUpperCase()) + 1,
  };
}

/**
 * The first time after `after` that the cron expression fires in `timeZone`, as Scheduler
 * evaluates it (six fields; day-of-week 1-7 = SUN-SAT). Undefined for a rate expression, for
 * fields this evaluator does not model (`L`, `W`, `#`), or when it does not fire within a year.
 * It walks the wall clock in quarter hours (every time zone's offset is a multiple of 15 minutes).
 */
export function nextCronFire(expression: string, timeZone: string, after: Date): Date | undefined {
  const fields = CRON.exec(expression)?.[1]?.trim().split(/\s+/);
  if (fields === undefined || fields.length !== 6) return undefined;
  const [minutes, hours, days, months, weekdays, years] = [
    cronValues(fields[0] ?? '', 0, 59),
    cronValues(fields[1] ?? '', 0, 23),
    cronValues(fields[2] ?? '', 1, 31),
    cronValues(fields[3] ?? '', 1, 12, MONTHS, 1),
    cronValues(fields[4] ?? '', 1, 7, WEEKDAYS, 1),
    cronValues(fields[5] ?? '', 1970, 2199),
  ];
  if ([minutes, hours, days, months, weekdays, years].some((set) => set === undefined)) return undefined;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  const start = Math.floor(after.getTime() / 60_000) * 60_000 + 60_000;
  for (let t = start; t < start + CRON_HORIZON_MS; t += STEP_MS) {
    const local = localParts(new Date(t), format);
    if (
      !years?.has(local.year) ||
      !months?.has(local.month) ||
      !days?.has(local.day) ||
      !weekdays?.has(local.weekday) ||
      !hours?.has(local.hour)
    ) {
      // Jump to the next quarter-hour boundary of the wall clock.
      t -= (local.minute % 15) * 60_000;
      continue;
    }
    for (let m = local.minute; m < Math.min(60, local.minute - (local.minute % 15) + 15); m += 1) {
      if (minutes?.has(m)) return new Date(t + (m - local.minute) * 60_000);
    }
    t -= (local.minute % 15) * 60_000;
  }
  return undefined;
}
