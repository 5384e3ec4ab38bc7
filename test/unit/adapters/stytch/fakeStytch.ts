import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request the fake server received. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent (still percent-encoded). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What the fake does with one request. */
export type Reply =
  | {
      readonly status?: number;
      readonly json?: unknown;
      /** A raw body instead of `json`. */
      readonly body?: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Never answer (the client must time out). */
  | { readonly hang: true }
  /** Read the request, then destroy the socket without answering (a reset after sending). */
  | { readonly destroy: true };

/** Decides a reply from the request; used when no scripted reply is queued. */
export type Responder = (request: RecordedRequest) => Reply;

/**
 * A loopback HTTP server standing in for Stytch in unit tests: it records every request and
 * answers from a queue of scripted replies, falling back to a responder function. Real sockets
 * exercise the real undici code paths (resets, timeouts) that mocks would hide.
 */
export class FakeStytch {
  public readonly requests: RecordedRequest[] = [];
  readonly #queue: Reply[] = [];
  readonly #sockets = new Set<Socket>();
  #responder: Responder = () => ({
    status: 500,
    json: { error_type: 'unscripted', error_message: 'no reply' },
  });

  private constructor(private readonly server: Server) {}

  /** Starts a server on 127.0.0.1 and a free port. */
  public static async start(port = 0): Promise<FakeStytch> {
    const server = createServer();
    const fake = new FakeStytch(server);
    server.on('connection', (socket) => {
      fake.#sockets.add(socket);
      socket.on('close', () => fake.#sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const recorded: RecordedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        fake.requests.push(recorded);
        fake.#reply(fake.#queue.shift() ?? fake.#responder(recorded), res);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return fake;
  }

  /** `http://127.0.0.1:<port>`. */
  public get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  public get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Queues replies, used in order before the responder. */
  public enqueue(...replies: Reply[]): this {
    this.#queue.push(...replies);
    return this;
  }

  /** Sets the fallback responder. */
  public respond(responder: Responder): this {
    this.#responder = responder;
    return this;
  }

  /** The parsed JSON body of the `index`-th request. */
  public jsonBody(index: number): unknown {
    const request = this.requests[index];
    if (request === undefined) throw new Error(`no request #${index}`);
    return JSON.parse(request.body) as unknown;
  }

  /** Stops the server, cutting hanging responses and open keep-alive sockets. */
  public async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #reply(reply: Reply, res: ServerResponse): void {
    if ('hang' in reply) {
      // Leave `res` open; stop() destroys the socket.
      return;
    }
    if ('destroy' in reply) {
      res.socket?.destroy();
      return;
    }
    const body = reply.body ?? (reply.json === undefined ? '' : JSON.stringify(reply.json));
    res.writeHead(reply.status ?? 200, {
      'content-type': reply.json === undefined ? 'text/plain' : 'application/json',
      ...reply.headers,
    });
    res.end(body);
  }
}

/** An M2M client on the wire, with overridable fields. */
export function wireM2MClient(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_id: 'm2m-client-test-1',
    client_name: 'billing',
    client_description: 'billing worker',
    status: 'active',
    scopes: ['read:users', 'write:users'],
    client_secret_last_four: 'DzJj',
    next_client_secret_last_four: null,
    trusted_metadata: { team: 'billing' },
    ...overrides,
  };
}

/** A Connected App on the wire, with overridable fields. */
export function wireConnectedApp(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_id: 'connected-app-test-1',
    client_name: 'portal',
    client_description: 'customer portal',
    client_type: 'first_party',
    status: 'active',
    full_access_allowed: false,
    redirect_urls: ['https://example.com/cb'],
    access_token_expiry_minutes: 60,
    access_token_template_content: '',
    post_logout_redirect_urls: [],
    bypass_consent_for_offline_access: false,
    creation_method: 'api',
    client_secret_last_four: 'abcd',
    next_client_secret_last_four: null,
    ...overrides,
  };
}

/** A Stytch standard error reply. */
export function stytchError(status: number, errorType: string, message = `${errorType} happened`): Reply {
  return {
    status,
    json: {
      status_code: status,
      request_id: 'request-id-test-err',
      error_type: errorType,
      error_message: message,
      error_url: `https://stytch.com/docs/api/errors/${status}`,
    },
  };
}

/** Records sleeps instead of sleeping them. */
export function recordingSleep(): {
  readonly delays: number[];
  readonly sleep: (ms: number) => Promise<void>;
} {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms) => {
      delays.push(ms);
    },
  };
}

/** A logger that keeps every line, serialised, for leak checks. */
export function recordingLogger(): {
  readonly lines: string[];
  readonly logger: {
    debug(message: string, attributes?: Readonly<Record<string, unknown>>): void;
    warn(message: string, attributes?: Readonly<Record<string, unknown>>): void;
  };
} {
  const lines: string[] = [];
  const record = (level: string) => (message: string, attributes?: Readonly<Record<string, unknown>>) => {
    lines.push(`${level} ${message} ${JSON.stringify(attributes ?? {})}`);
  };
  return { lines, logger: { debug: record('debug'), warn: record('warn') } };
}
