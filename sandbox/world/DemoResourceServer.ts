/**
 * The sandbox's demo resource server (issue 16): an HTTP API that the demo consumers call with
 * their access tokens, protected by the verifier (`verifier/`) exactly as a service would use it:
 * the emulator's JWKS, the sandbox's revocation document polled with conditional GETs, and the
 * rotator's `Client Tokens Revoked` events applied at once (the service's bus subscription).
 *
 * `GET /whoami` with `Authorization: Bearer <token>` answers 200 `{"clientId", "scopes"}`, or 401
 * (403 for a missing scope, 503 when it cannot check) with `{"error", "reason", "message"}`.
 * `?scope=a&scope=b` requires scopes. Nothing it answers or logs carries a token.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  createVerifier,
  type FetchDocument,
  InsufficientScopeError,
  TokenRevokedError,
  type Verifier,
  VerifierError,
} from '#verifier/index.js';
import type { AccessKey } from '../gateway/iamQuery.js';
import { awsClientConfig } from './awsClientConfig.js';

/** Options of {@link DemoResourceServer.start}. */
export interface DemoResourceServerOptions {
  /** The Stytch project: the tokens' audience and issuer. */
  readonly projectId: string;
  /** The Stytch base URL whose `/v1/sessions/jwks/<projectId>` signs the tokens. */
  readonly stytchUrl: string;
  /** The revocation document (the sandbox's is on the gateway), read with GetObject, signed. */
  readonly revocationsUrl: string;
  /** The AWS endpoint and the reader's access key the document is read with. */
  readonly s3: { readonly endpoint: string; readonly accessKey: AccessKey };
  /** The verifier's polling interval. @default 5000 (the verifier's default) */
  readonly refreshIntervalMs?: number;
}

/** What the API answers for a refused request (never the token). */
export interface RefusalBody {
  /** RFC 6750's error code: `invalid_token`, `insufficient_scope`, or `temporarily_unavailable`. */
  readonly error: string;
  /** Why, in snake case: `token_revoked`, `token_expired`, `missing_token`, `revocations_stale`, … */
  readonly reason: string;
  readonly message: string;
  /** For `token_revoked`: tokens issued at or after this time are accepted. */
  readonly cutoff?: string;
}

/** A running demo resource server. */
export class DemoResourceServer {
  /** The API's base URL (`endpoints.resourceServer`); `GET <url>/whoami`. */
  public readonly url: string;
  /** Requests answered, and how many were refused, by reason. */
  public readonly stats = { requests: 0, refused: {} as Record<string, number> };
  readonly #server: Server;
  readonly #verifier: Verifier;
  readonly #plainKeys: ReturnType<typeof createRemoteJWKSet>;
  readonly #projectId: string;

  readonly #s3: S3Client;

  private constructor(server: Server, verifier: Verifier, options: DemoResourceServerOptions, s3: S3Client) {
    this.#s3 = s3;
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.#server = server;
    this.#verifier = verifier;
    this.#projectId = options.projectId;
    this.#plainKeys = createRemoteJWKSet(new URL(jwksUrl(options)));
  }

  /** Starts the verifier (its first read of the document) and listens on a free loopback port. */
  public static async start(options: DemoResourceServerOptions): Promise<DemoResourceServer> {
    const s3 = new S3Client({
      ...awsClientConfig(options.s3.endpoint, options.s3.accessKey),
      forcePathStyle: true,
    });
    const verifier = createVerifier({
      projectId: options.projectId,
      jwksUrl: jwksUrl(options),
      // The emulator rolls no keys; an unknown kid is a forgery, looked up again at most every 5 s.
      jwks: { cooldownMs: 5_000 },
      revocations: {
        // A deployed reader's way: a signed GetObject with If-None-Match (the bucket is private;
        // moto, like S3, answers an unsigned GET 403).
        fetchDocument: s3DocumentReader(s3, options.revocationsUrl),
        ...(options.refreshIntervalMs === undefined ? {} : { refreshIntervalMs: options.refreshIntervalMs }),
      },
    });
    try {
      // Fail closed until the first good read: answer nothing before it.
      const status = await verifier.refreshNow();
      if (status.lastGoodAt === undefined)
        throw new Error(`the demo resource server cannot read ${options.revocationsUrl}`);
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const api = new DemoResourceServer(server, verifier, options, s3);
      server.on('request', (request, response) => void api.#answer(request, response));
      return api;
    } catch (error) {
      verifier.close();
      s3.destroy();
      throw error;
    }
  }

  /** The service's bus subscription: a `Client Tokens Revoked` event is applied at once. */
  public onRotatorEvent(event: { readonly detailType: string; readonly detail: unknown }): void {
    if (event.detailType !== 'Client Tokens Revoked') return;
    try {
      this.#verifier.applyEvent(event.detail);
    } catch {
      // A malformed record is refused by the verifier; the next poll brings the document's copy.
    }
  }

  /**
   * What a resource server without the rotator's records concludes: the token verifies against
   * the JWKS (signature, `iss`, `aud`, `exp`). The demo's timeline sets it next to the API's answer.
   */
  public async plainJwksAccepts(token: string): Promise<boolean> {
    try {
      await jwtVerify(token, this.#plainKeys, {
        issuer: `stytch.com/${this.#projectId}`,
        audience: this.#projectId,
        clockTolerance: 30,
      });
      return true;
    } catch {
      return false;
    }
  }

  public async stop(): Promise<void> {
    this.#verifier.close();
    this.#s3.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.stats.requests += 1;
    const url = new URL(request.url ?? '/', this.url);
    if (url.pathname !== '/whoami') return this.#send(response, 404, { error: 'not_found' });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return this.#send(response, 405, { error: 'method_not_allowed' });
    }
    const token = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined) {
      return this.#refuse(response, 401, {
        error: 'invalid_request',
        reason: 'missing_token',
        message: 'send Authorization: Bearer <access token>',
      });
    }
    try {
      const verified = await this.#verifier.verify(token, {
        requiredScopes: url.searchParams.getAll('scope'),
      });
      this.#send(response, 200, { clientId: verified.clientId, scopes: verified.scopes });
    } catch (error) {
      if (!(error instanceof VerifierError)) {
        return this.#refuse(response, 503, {
          error: 'temporarily_unavailable',
          reason: 'internal',
          message: 'the token could not be checked',
        });
      }
      const status = error instanceof InsufficientScopeError ? 403 : error.retryable ? 503 : 401;
      this.#refuse(response, status, {
        error:
          status === 403
            ? 'insufficient_scope'
            : status === 503
              ? 'temporarily_unavailable'
              : 'invalid_token',
        reason: reasonOf(error),
        message: error.message,
        ...(error instanceof TokenRevokedError ? { cutoff: error.cutoff.toISOString() } : {}),
      });
    }
  }

  #refuse(response: ServerResponse, status: number, body: RefusalBody): void {
    this.stats.refused[body.reason] = (this.stats.refused[body.reason] ?? 0) + 1;
    if (status === 401 || status === 403) {
      // RFC 6750 §3; the description is our message, which names no token.
      const description = body.message.replace(/["\\]/g, '');
      response.setHeader(
        'WWW-Authenticate',
        `Bearer error="${body.error}", error_description="${description}"`,
      );
    }
    this.#send(response, status, body);
  }

  #send(response: ServerResponse, status: number, body: object): void {
    response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  }
}

/** The verifier's `fetchDocument` as a GetObject of the URL's bucket and key (304 on a matching ETag). */
function s3DocumentReader(s3: S3Client, documentUrl: string): FetchDocument {
  const [, bucket = '', ...key] = new URL(documentUrl).pathname.split('/');
  return async ({ etag }) => {
    try {
      const answer = await s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key.join('/'),
          ...(etag === undefined ? {} : { IfNoneMatch: etag }),
        }),
      );
      return { status: 200, etag: answer.ETag, body: (await answer.Body?.transformToString()) ?? '' };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === undefined) throw error;
      return { status, etag: undefined, body: '' };
    }
  };
}

function jwksUrl(options: DemoResourceServerOptions): string {
  return `${options.stytchUrl.replace(/\/+$/, '')}/v1/sessions/jwks/${encodeURIComponent(options.projectId)}`;
}

/** `TokenRevokedError` → `token_revoked`, `RevocationsStaleError` → `revocations_stale`. */
export function reasonOf(error: VerifierError): string {
  return error.name
    .replace(/Error$/, '')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}
