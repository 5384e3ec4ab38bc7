import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { apiErrors } from './errors.js';

/** Bodies above this size are refused; no Stytch request comes near it. */
const MAX_BODY_BYTES = 1024 * 1024;

/** A request as the route handlers see it: already read, never mutated. */
export interface EmulatorRequest {
  readonly method: string;
  /** The path without the query string, still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The raw body (empty when none was sent). */
  readonly body: Buffer;
}

/** What a handler answers with; the server adds nothing but the JSON encoding. */
export interface ApiResponse {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Reads a whole request body, refusing oversized ones. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw apiErrors.badRequest('The request body is too large.');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** A JSON object body as a plain record. */
export type JsonObject = Readonly<Record<string, unknown>>;

/**
 * Parses a management-route body. An empty body is `{}` (Go and Python send none on DELETE and the
 * rotate calls, Node sends `{}`); anything that is not a JSON object is a 400.
 */
export function parseJsonObject(body: Buffer): JsonObject {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw apiErrors.badRequest('The request body is not valid JSON.');
  }
  if (!isJsonObject(value)) throw apiErrors.badRequest('The request body must be a JSON object.');
  return value;
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The media type of a request without parameters, lower-cased (`application/json`). */
export function mediaType(headers: IncomingHttpHeaders): string {
  return (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The decoded user and password of a `Basic` Authorization header, or null when absent or malformed. */
export function parseBasicAuth(headers: IncomingHttpHeaders): { user: string; password: string } | null {
  const header = headers.authorization;
  if (header === undefined) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Decodes one percent-encoded path segment, answering 404 for malformed encodings. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw apiErrors.routeNotFound();
  }
}

/** A 200 answer with Stytch's envelope (`request_id`, `status_code`) around `payload`. */
export function ok(requestId: string, payload: Readonly<Record<string, unknown>>): ApiResponse {
  return { status: 200, body: { request_id: requestId, ...payload, status_code: 200 } };
}
