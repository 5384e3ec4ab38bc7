/**
 * The AWS JSON protocol (1.0 and 1.1) as the gateway speaks it: reading a request's target and body,
 * writing answers and errors in the shape SDK v3 clients parse, and calling moto's JSON APIs.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';

/**
 * An AWS API error answer: HTTP `statusCode` with `{"__type": code, "message": ...}`. SDK v3 clients
 * raise it as an exception whose `name` is `code` (e.g. `ExecutionDoesNotExist`).
 */
export class AwsJsonError extends Error {
  public readonly code: string;
  public readonly statusCode: number;

  public constructor(code: string, message: string, statusCode = 400) {
    super(message);
    this.name = code;
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** `X-Amz-Target: <Service>.<Action>` split in two; undefined without the header. */
export function amzTarget(request: IncomingMessage): { service: string; action: string } | undefined {
  const header = request.headers['x-amz-target'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return { service: value, action: '' };
  return { service: value.slice(0, dot), action: value.slice(dot + 1) };
}

/** The whole request body. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A JSON-protocol request body as an object (an empty body is `{}`); anything else is a SerializationException. */
export function parseJsonBody(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AwsJsonError('SerializationException', 'The request body is not JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsJsonError('SerializationException', 'The request body is not a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/**
 * JSON text of an answer: every `Date` becomes epoch seconds (a number, with milliseconds as the
 * fraction), which is how the JSON protocols carry timestamps.
 */
export function toWireJson(value: unknown): string {
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key, converted) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : converted;
  });
}

/** Writes a JSON-protocol answer (200 unless told). */
export function sendJson(
  response: ServerResponse,
  contentType: string,
  payload: unknown,
  statusCode = 200,
): void {
  const body = Buffer.from(toWireJson(payload), 'utf8');
  response.writeHead(statusCode, {
    'content-type': contentType,
    'content-length': body.length,
    'x-amzn-requestid': randomUUID(),
  });
  response.end(body);
}

/** Writes an error answer as AWS does; the SDK reads `__type`. */
export function sendError(response: ServerResponse, contentType: string, error: AwsJsonError): void {
  const body = Buffer.from(JSON.stringify({ __type: error.code, message: error.message }), 'utf8');
  response.writeHead(error.statusCode, {
    'content-type': contentType,
    'content-length': body.length,
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': error.code,
  });
  response.end(body);
}

/** What {@link callAwsJson} needs to reach moto. */
export interface AwsJsonEndpoint {
  readonly endpoint: string;
  readonly region: string;
  readonly dispatcher: Dispatcher;
}

/**
 * Calls an AWS JSON-protocol action on moto (SQS and EventBridge here). moto picks the service from
 * the credential scope of the Authorization header and checks no signature, so none is computed.
 * A non-2xx answer throws an {@link AwsJsonError} with AWS's error code (moto's HTML 500 pages become
 * `InternalFailure`).
 */
export async function callAwsJson<T = Record<string, unknown>>(
  target: AwsJsonEndpoint,
  service: string,
  action: string,
  body: Record<string, unknown>,
  contentType = 'application/x-amz-json-1.0',
): Promise<T> {
  const response = await target.dispatcher.request({
    origin: target.endpoint,
    path: '/',
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-amz-target': action,
      authorization:
        `AWS4-HMAC-SHA256 Credential=sandbox/20260101/${target.region}/${service}/aws4_request, ` +
        'SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  if (response.statusCode < 200 || response.statusCode >= 300) {
    let code = 'InternalFailure';
    let message = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
      code = (parsed.__type ?? code).split('#').at(-1) ?? code;
      message = parsed.message ?? parsed.Message ?? message;
    } catch {
      // moto answers unimplemented calls with an HTML page.
    }
    throw new AwsJsonError(code, `${action} at ${target.endpoint}: ${message}`, response.statusCode);
  }
  return (text === '' ? {} : JSON.parse(text)) as T;
}
