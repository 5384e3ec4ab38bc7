import type { Secret } from '#core/secret.js';

/** What a leak scan found: how much it read and how often a secret value appeared in it. */
export interface LeakScanResult {
  readonly scannedBytes: number;
  readonly secretHits: number;
  /** Which captured source held a secret (names only), for the message that fails the run. */
  readonly hitSources: readonly string[];
}

/**
 * Searches every captured text for every secret value. Values shorter than 8 characters are not
 * looked for: they would match by chance (no secret the run creates is that short).
 */
export function scanForSecrets(
  captured: readonly { readonly source: string; readonly text: string }[],
  secrets: readonly Secret[],
): LeakScanResult {
  const values = [...new Set(secrets.map((secret) => secret.reveal()).filter((value) => value.length >= 8))];
  let scannedBytes = 0;
  let secretHits = 0;
  const hitSources = new Set<string>();
  for (const { source, text } of captured) {
    scannedBytes += Buffer.byteLength(text, 'utf8');
    for (const value of values) {
      let at = text.indexOf(value);
      while (at !== -1) {
        secretHits += 1;
        hitSources.add(source);
        at = text.indexOf(value, at + value.length);
      }
    }
  }
  return { scannedBytes, secretHits, hitSources: [...hitSources] };
}
