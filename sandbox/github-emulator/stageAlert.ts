/**
 * The emulator's admin route, `POST /__emulator/alerts`: what a person (or a test in another
 * process) sends to stage an alert from outside, and how its body is checked. Not a GitHub route:
 * the prefix cannot clash with one, as in the Stytch emulator's admin API.
 */

/** The admin route's path. */
export const ALERTS_ADMIN_PATH = '/__emulator/alerts';

/** Admin bodies above this size are refused (413): an alert is a few hundred bytes. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

/** The highest alert number: the API route matches at most nine digits. */
export const MAX_ALERT_NUMBER = 999_999_999;

/** The longest secret an alert may hold (GitHub's custom patterns match far shorter ones). */
export const MAX_ALERT_SECRET_LENGTH = 4096;

/** `owner/name` as GitHub spells repositories; also what the receiver accepts. */
export const REPOSITORY_PATTERN = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

const SECRET_TYPE_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;
const FIELDS = ['repository', 'number', 'secret', 'secret_type'] as const;

/** A staged alert's input, checked. */
export interface StageAlertInput {
  readonly repository: string;
  /** Absent: the next number of the repository. */
  readonly number?: number;
  readonly secret: string;
  readonly secretType?: string;
}

/** The problem messages; none repeats a value that was sent (the secret above all). */
export const STAGE_ALERT_PROBLEMS = {
  notAnObject:
    'the body must be a JSON object {"repository": "owner/name", "number": N, "secret": "…", "secret_type": "…"}',
  repository: 'repository must be "owner/name" (A-Z a-z 0-9 . _ -)',
  number: `number must be an integer from 1 to ${MAX_ALERT_NUMBER}`,
  secret: `secret must be a string of 1 to ${MAX_ALERT_SECRET_LENGTH} characters`,
  secretType: 'secret_type must be 1 to 100 characters of a-z A-Z 0-9 _ . -',
} as const;

/** Whether `value` is an alert number the API route can serve. */
export function isAlertNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ALERT_NUMBER;
}

/**
 * Parses and checks an admin body: the input, or every problem found (each a sentence naming the
 * field and what it must be, never what was sent).
 */
export function parseStageAlertBody(
  text: string,
): { readonly input: StageAlertInput } | { readonly problems: readonly string[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { problems: [STAGE_ALERT_PROBLEMS.notAnObject] };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { problems: [STAGE_ALERT_PROBLEMS.notAnObject] };
  }
  const fields = body as Record<string, unknown>;
  const problems: string[] = [];
  const { repository, number, secret, secret_type: secretType } = fields;
  if (typeof repository !== 'string' || !REPOSITORY_PATTERN.test(repository)) {
    problems.push(STAGE_ALERT_PROBLEMS.repository);
  }
  if (number !== undefined && !isAlertNumber(number)) problems.push(STAGE_ALERT_PROBLEMS.number);
  if (typeof secret !== 'string' || secret.length === 0 || secret.length > MAX_ALERT_SECRET_LENGTH) {
    problems.push(STAGE_ALERT_PROBLEMS.secret);
  }
  if (secretType !== undefined && (typeof secretType !== 'string' || !SECRET_TYPE_PATTERN.test(secretType))) {
    problems.push(STAGE_ALERT_PROBLEMS.secretType);
  }
  for (const key of Object.keys(fields)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      // A typo's name helps; an arbitrary key is shown bounded and only when it looks like a name.
      const shown = /^[A-Za-z0-9_.-]{1,40}$/.test(key) ? ` "${key}"` : '';
      problems.push(`unknown field${shown} (the fields are ${FIELDS.join(', ')})`);
    }
  }
  if (problems.length > 0) return { problems };
  return {
    input: {
      repository: repository as string,
      ...(number === undefined ? {} : { number: number as number }),
      secret: secret as string,
      ...(secretType === undefined ? {} : { secretType: secretType as string }),
    },
  };
}
