import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';

/** An M2M client of the emulator that can mint real tokens (RS256, signed by the emulator's JWKS). */
export interface EmulatorClient {
  readonly clientId: string;
  mint(scopes?: readonly string[]): Promise<string>;
}

export async function startEmulator(): Promise<StytchEmulator> {
  return StytchEmulator.start();
}

export function jwksUrlOf(emulator: StytchEmulator): string {
  return `${emulator.url}/v1/sessions/jwks/${emulator.projectId}`;
}

/** Creates a client over the emulator's HTTP API, as Stytch's SDKs do. */
export async function createClient(
  emulator: StytchEmulator,
  clientId: string,
  scopes: readonly string[],
): Promise<EmulatorClient> {
  const basic = Buffer.from(`${emulator.projectId}:${emulator.projectSecret}`).toString('base64');
  const response = await fetch(`${emulator.url}/v1/m2m/clients`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: clientId, scopes }),
  });
  const created = (await response.json()) as { m2m_client: { client_id: string; client_secret: string } };
  const secret = created.m2m_client.client_secret;
  return {
    clientId: created.m2m_client.client_id,
    async mint(requested = scopes) {
      const token = await fetch(`${emulator.url}/v1/public/${emulator.projectId}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: secret,
          scope: requested.join(' '),
        }),
      });
      const body = (await token.json()) as { access_token: string };
      return body.access_token;
    },
  };
}

/** The claims of a JWT, read without verifying (to place a test clock around `iat`). */
export function claimsOf(token: string): { sub: string; iat: number; exp: number } {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

/** What the document server answers next. */
export type DocumentAnswer =
  | { readonly kind: 'document'; readonly body: string; readonly etag?: string }
  | { readonly kind: 'status'; readonly status: number };

/**
 * The revocation document over loopback HTTP, as S3 or a CDN serves it: 200 with an ETag, 304 when
 * `If-None-Match` matches. Records each request's `If-None-Match` and answer status.
 */
export class DocumentServer {
  public readonly requests: { ifNoneMatch: string | undefined; status: number }[] = [];
  #answer: DocumentAnswer = { kind: 'status', status: 404 };
  #version = 0;

  private constructor(
    private readonly server: Server,
    public readonly url: string,
  ) {}

  public static async start(): Promise<DocumentServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const documents = new DocumentServer(server, `http://127.0.0.1:${port}/token-revocations.json`);
    server.on('request', (request, response) => {
      const answer = documents.#answer;
      const ifNoneMatch = request.headers['if-none-match'];
      let status: number;
      if (answer.kind === 'status') {
        status = answer.status;
        response.writeHead(status).end();
      } else if (answer.etag !== undefined && ifNoneMatch === answer.etag) {
        status = 304;
        response.writeHead(304, { etag: answer.etag }).end();
      } else {
        status = 200;
        response
          .writeHead(200, {
            'content-type': 'application/json',
            ...(answer.etag ? { etag: answer.etag } : {}),
          })
          .end(answer.body);
      }
      documents.requests.push({ ifNoneMatch, status });
    });
    return documents;
  }

  /** Serves `document` (an object, JSON-encoded, or raw text) with a new ETag. */
  public serve(document: unknown): void {
    this.#version += 1;
    const body = typeof document === 'string' ? document : JSON.stringify(document);
    this.#answer = { kind: 'document', body, etag: `"v${this.#version}"` };
  }

  public fail(status: number): void {
    this.#answer = { kind: 'status', status };
  }

  public stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** A revocation record of the contract (docs/token-revocation.md). */
export function record(clientId: string, cutoffMs: number) {
  return {
    clientId,
    cutoff: new Date(Math.ceil(cutoffMs / 1000) * 1000).toISOString(),
    expiresAt: new Date(cutoffMs + 3_660_000).toISOString(),
    rotationId: 'rot-1',
    reason: 'leak_rotation',
  };
}

export function document(...records: ReturnType<typeof record>[]) {
  return { schemaVersion: 1, updatedAt: new Date().toISOString(), revocations: records };
}
