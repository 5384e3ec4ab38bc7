import { apiErrors } from './errors.js';

/** A client's `trusted_metadata`: a JSON object. */
export type TrustedMetadata = Readonly<Record<string, unknown>>;

/** Stytch's documented metadata limits (https://stytch.com/docs/api/metadata). */
const MAX_KEYS = 20;
const MAX_BYTES = 4096;

/** Validates metadata against Stytch's limits, answering `metadata_too_many_keys` / `metadata_too_large`. */
export function checkMetadata(metadata: TrustedMetadata): TrustedMetadata {
  if (Object.keys(metadata).length > MAX_KEYS) {
    throw apiErrors.validation(
      'metadata_too_many_keys',
      `trusted_metadata may have at most ${MAX_KEYS} top-level keys.`,
    );
  }
  if (Buffer.byteLength(JSON.stringify(metadata), 'utf8') > MAX_BYTES) {
    throw apiErrors.validation('metadata_too_large', `trusted_metadata may be at most ${MAX_BYTES} bytes.`);
  }
  return metadata;
}

/**
 * Stytch's metadata update: merged at the top level only; a top-level null deletes that key;
 * nested objects and arrays replace the old value. Returns a new object and checks the limits.
 */
export function mergeMetadata(current: TrustedMetadata, patch: TrustedMetadata): TrustedMetadata {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = structuredClone(value);
  }
  return checkMetadata(merged);
}
