import type { Secret } from '#core/secret.js';

/** The longest piece of outsider-supplied text kept in an error message or a health report. */
export const MAX_OUTSIDER_TEXT = 200;

const REDACTED = '[redacted]';
// Real secrets are long; scrubbing a 1-3 character value would only mangle the text.
const MIN_SCRUB_LENGTH = 4;
// What survives of outsider text: letters, digits, space and plain punctuation. No control or
// format characters (a terminal escape, a forged log line), no markup, no non-ASCII look-alikes.
// `…` stays because our own messages mark last-four characters with it.
const NOT_KEPT = /[^A-Za-z0-9 ._:,;=+/()[\]@#%&?!*'"…-]+/g;

/**
 * Makes text that someone outside the process chose (a token endpoint's `error` and
 * `error_description`, a foreign error's name) safe to put in an error message or a health report:
 * every occurrence of `secrets` is replaced (as sent, and form- or URL-encoded, since an endpoint
 * may echo the request body), characters outside a conservative set become spaces, whitespace runs
 * collapse to one space, and the result is cut to `maxLength` characters.
 */
export function scrubOutsiderText(
  text: string,
  secrets: readonly (Secret | undefined)[],
  maxLength: number = MAX_OUTSIDER_TEXT,
): string {
  const values = secrets
    .map((secret) => secret?.reveal())
    .filter((value): value is string => value !== undefined && value.length >= MIN_SCRUB_LENGTH);
  const forms = [
    ...new Set(
      values.flatMap((value) => [
        value,
        encodeURIComponent(value),
        new URLSearchParams({ v: value }).toString().slice('v='.length),
      ]),
    ),
  ].sort((a, b) => b.length - a.length);
  const withoutSecrets = (input: string): string =>
    forms.reduce((result, form) => result.split(form).join(REDACTED), input);
  // Scrubbed again after the clean-up, which can make a secret out of text that was not one
  // (`ab\ncd` becomes `ab cd`).
  const cleaned = withoutSecrets(withoutSecrets(text).replace(NOT_KEPT, ' ').replace(/\s+/g, ' ').trim());
  return cleaned.length > maxLength ? `${cleaned.slice(0, Math.max(0, maxLength - 1))}…` : cleaned;
}
