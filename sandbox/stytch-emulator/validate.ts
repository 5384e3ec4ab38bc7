import type { ApiError } from './errors.js';
import { isJsonObject, type JsonObject } from './http.js';

// Field readers for request bodies. Each takes the error to answer with when the field has the
// wrong type, so the same helper serves fields whose Stytch error_type differs. A JSON `null` is
// treated as "not given": the SDKs never send one, and it must not erase a field on update.

/** Makes an error lazily, so a reader builds it only when the field is invalid. */
export type ErrorFactory = () => ApiError;

/** A string field, or undefined when absent or null. */
export function optionalString(body: JsonObject, key: string, invalid: ErrorFactory): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid();
  return value;
}

/** A boolean field, or undefined when absent or null. */
export function optionalBoolean(body: JsonObject, key: string, invalid: ErrorFactory): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid();
  return value;
}

/** An integer field, or undefined when absent or null. */
export function optionalInteger(body: JsonObject, key: string, invalid: ErrorFactory): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid();
  return value;
}

/** An array-of-strings field, or undefined when absent or null. */
export function optionalStringArray(
  body: JsonObject,
  key: string,
  invalid: ErrorFactory,
): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw invalid();
  return [...value];
}

/** An object field, or undefined when absent or null. */
export function optionalObject(body: JsonObject, key: string, invalid: ErrorFactory): JsonObject | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw invalid();
  return value;
}

/** A finite number field, or undefined when absent or null. */
export function optionalNumber(body: JsonObject, key: string, invalid: ErrorFactory): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid();
  return value;
}
