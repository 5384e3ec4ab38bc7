import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

/** A Function URL handler, as the listener invokes it. */
export type FunctionUrlHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

/** Options of {@link WebhookListener.start}. */
export interface WebhookListenerOptions {
  /** The handler a Function URL would invoke (e.g. `createGitHubWebhookHandler(...)`). */
  readonly handler: FunctionUrlHandler;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 - a free port */
  readonly port?: number;
  /**
   * Receives unexpected handler failures (name and message only).
   * @default - silent
   */
  readonly logger?: (line: string) => void;
}

/** Request bodies above this size are refused, as a Function URL refuses oversized payloads. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

class BodyTooLargeError extends Error {}

/**
 * The sandbox's stand-in for a Lambda Function URL: a loopback HTTP server that turns each POST
 * into an APIGatewayProxyEventV2 (payload format 2.0: lower-cased headers, the raw body in base64
 * with `isBase64Encoded: true`) and answers with what the handler returns. Other methods get 405
 * and bodies over 1 MiB get 413, without invoking the handler.
 */
export class WebhookListener {
  /** `http://HOST:PORT/`: the URL a GitHub webhook would be configured with. */
  public readonly url: string;
  readonly #server: Server;
  #closing: Promise<void> | undefined;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  public static async start(options: WebhookListenerOptions): Promise<WebhookListener> {
    const host = options.host ?? '127.0.0.1';
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const displayHost = host.includes(':') ? `[${host}]` : host;
    const listener = new WebhookListener(server, `http://${displayHost}:${port}/`);
    const logger = options.logger ?? (() => undefined);
    server.on('request', (request, response) => {
      void serve(options.handler, `${displayHost}:${port}`, request, response, logger);
    });
    return listener;
  }

  /** Closes the server and every open connection. Idempotent. */
  public close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}

async function serve(
  handler: FunctionUrlHandler,
  domainName: string,
  request: IncomingMessage,
  response: ServerResponse,
  logger: (line: string) => void,
): Promise<void> {
  const method = request.method ?? 'GET';
  if (method !== 'POST') {
    request.resume();
    send(
      response,
      405,
      { 'content-type': 'application/json', allow: 'POST' },
      '{"message":"Method Not Allowed"}',
    );
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(request);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      send(
        response,
        413,
        { 'content-type': 'application/json', connection: 'close' },
        '{"message":"Request Too Long"}',
      );
      request.destroy();
    } else {
      response.destroy();
    }
    return;
  }
  let result: APIGatewayProxyResultV2;
  try {
    result = await handler(toEvent(request, method, domainName, body));
  } catch (error) {
    // A Function URL answers a crashed invocation with 502 and a generic body; so does this.
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : 'a non-Error value';
    logger(`webhook-listener: handler failed: ${detail}`);
    send(response, 502, { 'content-type': 'application/json' }, '{"message":"Internal Server Error"}');
    return;
  }
  if (typeof result === 'string') {
    // Payload format 2.0: a bare string is a 200 JSON body.
    send(response, 200, { 'content-type': 'application/json' }, result);
    return;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  const text = result.body ?? '';
  send(
    response,
    result.statusCode ?? 200,
    headers,
    result.isBase64Encoded === true ? Buffer.from(text, 'base64') : text,
  );
}

function toEvent(
  request: IncomingMessage,
  method: string,
  domainName: string,
  body: Buffer,
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', `http://${domainName}`);
  const headers: Record<string, string> = {};
  // Node lower-cases names already; repeated headers are joined with commas, as Function URLs do.
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length === 0 ? {} : { queryStringParameters: query }),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'sandbox-webhook-listener',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length === 0 ? {} : { body: body.toString('base64') }),
    isBase64Encoded: true,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.time` as Function URLs write it: `01/Mar/2030:09:00:00 +0000`. */
function requestTime(at: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${two(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:` +
    `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} +0000`
  );
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_WEBHOOK_BODY_BYTES) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_WEBHOOK_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): void {
  if (response.destroyed || response.writableEnded) return;
  response.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
