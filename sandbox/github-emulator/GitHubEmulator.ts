import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ALERTS_ADMIN_PATH,
  isAlertNumber,
  MAX_ADMIN_BODY_BYTES,
  parseStageAlertBody,
  REPOSITORY_PATTERN,
  STAGE_ALERT_PROBLEMS,
} from './stageAlert.js';

/**
 * A small emulation of the one GitHub REST call the webhook receiver makes,
 * `GET /repos/{owner}/{repo}/secret-scanning/alerts/{alert_number}`, on loopback, plus two ways
 * to stage an alert: {@link GitHubEmulator.addAlert} in-process (it returns the
 * `secret_scanning_alert` payload GitHub would post), and from outside the admin route
 * `POST /__emulator/alerts` (see `README.md` next to this file).
 */

/** A GitHub emulator setting is invalid, or the server could not listen. */
export class GitHubEmulatorError extends Error {
  public constructor(message: string, options: ErrorOptions = {}) {
    super(message, options);
    this.name = 'GitHubEmulatorError';
  }
}

/** Options of {@link GitHubEmulator.start}. */
export interface GitHubEmulatorOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 - a free port */
  readonly port?: number;
  /** The only token the API accepts. @default - `github_pat_test_<random>` */
  readonly token?: string;
  /** Where alert pages live (`html_url`). @default 'https://github.com' */
  readonly webUrl?: string;
}

/** What {@link GitHubEmulator.addAlert} stores. */
export interface AddAlertInput {
  /** `owner/repo`. */
  readonly repository: string;
  /**
   * The alert's number in its repository (1-999999999). Staging the same number again with the
   * same secret and type is a no-op; with another, an error.
   * @default - one more than the repository's highest number so far
   */
  readonly number?: number;
  /** The leaked value GitHub found (returned by the API, never in the webhook payload). */
  readonly secret: string;
  /** @default 'stytch_m2m_client_secret' - a custom pattern's slug */
  readonly secretType?: string;
}

/** A stored alert, as a test addresses it. */
export interface AddedAlert {
  readonly number: number;
  readonly htmlUrl: string;
  /** The `secret_scanning_alert` webhook payload for `action: created` (no secret in it). */
  readonly payload: Readonly<Record<string, unknown>>;
}

/** One API request as the emulator saw it: no header value, no body, no secret. */
export interface GitHubLoggedRequest {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Whether the request carried the emulator's token. */
  readonly authorized: boolean;
}

interface StoredAlert {
  readonly number: number;
  readonly repository: string;
  readonly secret: string;
  readonly secretType: string;
  readonly createdAt: string;
  readonly htmlUrl: string;
}

const DOCS_URL = 'https://docs.github.com/rest/secret-scanning/secret-scanning#get-a-secret-scanning-alert';
const DEFAULT_SECRET_TYPE = 'stytch_m2m_client_secret';
// Past this, an admin body is not even drained: the connection is cut.
const MAX_DRAINED_BYTES = 1024 * 1024;
const ALERT_PATH = /^\/repos\/([^/]+)\/([^/]+)\/secret-scanning\/alerts\/([0-9]{1,9})$/;
const MAX_LOG_ENTRIES = 10_000;

/**
 * GitHub's alert API on loopback. Requires `Authorization: Bearer <token>` (or GitHub's older
 * `token <token>`) and answers GitHub-shaped JSON errors: 401 `Bad credentials`, 404 `Not Found`.
 *
 * @example
 * const github = await GitHubEmulator.start();
 * const alert = github.addAlert({ repository: 'acme/api', secret: leakedValue });
 * // post alert.payload to the receiver; it fetches `${github.url}/repos/acme/api/secret-scanning/alerts/1`
 * await github.close();
 */
export class GitHubEmulator {
  readonly #server: Server;
  readonly #url: string;
  readonly #token: string;
  readonly #tokenDigest: Buffer;
  readonly #webUrl: string;
  readonly #alerts = new Map<string, StoredAlert>();
  readonly #nextNumber = new Map<string, number>();
  readonly #failures: number[] = [];
  #log: GitHubLoggedRequest[] = [];
  #seq = 0;
  #closing: Promise<void> | undefined;

  private constructor(server: Server, url: string, token: string, webUrl: string) {
    this.#server = server;
    this.#url = url;
    this.#token = token;
    this.#tokenDigest = digest(token);
    this.#webUrl = webUrl;
  }

  /** Starts the emulator; rejects with {@link GitHubEmulatorError} for bad options or a busy port. */
  public static async start(options: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    const token = options.token ?? `github_pat_test_${randomBytes(24).toString('base64url')}`;
    const webUrl = (options.webUrl ?? 'https://github.com').replace(/\/+$/, '');
    const problems: string[] = [];
    if (!Number.isInteger(port) || port < 0 || port > 65_535) problems.push('port must be 0-65535');
    if (!/^[\x21-\x7e]{8,255}$/.test(token)) problems.push('token must be 8-255 printable ASCII characters');
    if (!/^https?:\/\/[^\s]+$/.test(webUrl)) problems.push('webUrl must be an http(s) URL');
    if (problems.length > 0) {
      throw new GitHubEmulatorError(`Invalid GitHub emulator options: ${problems.join('; ')}`);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new GitHubEmulatorError(`could not listen on ${host}:${port} (${error.code})`, { cause: error }),
        ),
      );
      server.listen(port, host, () => resolve());
    });
    const { port: bound } = server.address() as AddressInfo;
    const emulator = new GitHubEmulator(
      server,
      `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
      token,
      webUrl,
    );
    server.on('request', (request, response) => emulator.#handle(request, response));
    return emulator;
  }

  /** `http://HOST:PORT`, no trailing slash: the receiver's `ROTATOR_GITHUB_API_URL`. */
  public get url(): string {
    return this.#url;
  }

  /** The token the API accepts: what the receiver's token secret must hold. */
  public get token(): string {
    return this.#token;
  }

  /**
   * Stores an open alert for `secret` in `repository` (numbered 1, 2, … per repository, unless
   * `number` is given) and returns the payload GitHub would post for its creation.
   * @throws {GitHubEmulatorError} for an invalid input, or a number already staged with another
   *   secret or type
   */
  public addAlert(input: AddAlertInput): AddedAlert {
    const { alert } = this.#stage(input);
    return { number: alert.number, htmlUrl: alert.htmlUrl, payload: this.#webhookPayload(alert) };
  }

  /** Stores the alert, or finds the identical one already staged (`created: false`). */
  #stage(input: AddAlertInput): { readonly alert: StoredAlert; readonly created: boolean } {
    if (!REPOSITORY_PATTERN.test(input.repository)) {
      throw new GitHubEmulatorError(STAGE_ALERT_PROBLEMS.repository);
    }
    if (input.number !== undefined && !isAlertNumber(input.number)) {
      throw new GitHubEmulatorError(STAGE_ALERT_PROBLEMS.number);
    }
    if (input.secret === '') throw new GitHubEmulatorError('secret must not be empty');
    // Names are case-insensitive on GitHub, so numbering and lookup are too.
    const repositoryKey = input.repository.toLowerCase();
    const highest = this.#nextNumber.get(repositoryKey) ?? 0;
    const number = input.number ?? highest + 1;
    const secretType = input.secretType ?? DEFAULT_SECRET_TYPE;
    const existing = this.#alerts.get(alertKey(input.repository, number));
    if (existing !== undefined) {
      if (existing.secret === input.secret && existing.secretType === secretType) {
        return { alert: existing, created: false };
      }
      // The message names the alert, never either secret.
      throw new GitHubEmulatorError(
        `alert #${number} of ${input.repository} already exists with another secret or secret_type; stage another number`,
      );
    }
    this.#nextNumber.set(repositoryKey, Math.max(highest, number));
    const alert: StoredAlert = {
      number,
      repository: input.repository,
      secret: input.secret,
      secretType,
      createdAt: new Date().toISOString(),
      htmlUrl: `${this.#webUrl}/${input.repository}/security/secret-scanning/${number}`,
    };
    this.#alerts.set(alertKey(input.repository, number), alert);
    return { alert, created: true };
  }

  /** The next `count` API requests (after authentication) answer `status` (e.g. 503). */
  public failNext(status: number, count = 1): void {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new GitHubEmulatorError('status must be an HTTP error status (400-599)');
    }
    for (let i = 0; i < count; i += 1) this.#failures.push(status);
  }

  /** Every API request so far, oldest first. */
  public requestLog(): readonly GitHubLoggedRequest[] {
    return [...this.#log];
  }

  public clearRequestLog(): void {
    this.#log = [];
  }

  /** Closes the server and every open connection. Idempotent. */
  public close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://github.invalid').pathname;
    if (path === ALERTS_ADMIN_PATH) {
      void this.#serveAdmin(request, response, method);
      return;
    }
    // The API takes no body; drain whatever came so the connection can be reused.
    request.resume();
    const authorized = this.#isAuthorized(request.headers.authorization);
    const { status, body } = this.#route(method, path, authorized);
    this.#seq += 1;
    this.#log.push({ seq: this.#seq, method, path, status, authorized });
    if (this.#log.length > MAX_LOG_ENTRIES) this.#log.splice(0, this.#log.length - MAX_LOG_ENTRIES);
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-github-request-id': `EMU:${this.#seq}`,
      'x-github-api-version-selected': '2022-11-28',
    });
    response.end(text);
  }

  /**
   * `POST /__emulator/alerts`: stage an alert from outside. 201 `{number}` when stored, 200
   * `{number}` when the same alert was staged already, 400 / 409 / 413 `{message}`. No token is
   * asked for: a staged alert does nothing until a delivery signed with the webhook secret names
   * it. Admin requests stay out of the request log, which counts the receiver's API calls.
   */
  async #serveAdmin(request: IncomingMessage, response: ServerResponse, method: string): Promise<void> {
    if (method !== 'POST') {
      request.resume();
      sendJson(response, 405, { message: 'Method Not Allowed: POST only' }, { allow: 'POST' });
      return;
    }
    const body = await readLimitedBody(request);
    if (body.refused !== null) {
      // A cut connection has nobody to answer.
      if (body.refused === 'too_large') {
        sendJson(response, 413, {
          message: `Request Too Long: an admin body is limited to ${MAX_ADMIN_BODY_BYTES} bytes`,
        });
      }
      return;
    }
    const parsed = parseStageAlertBody(body.text);
    if ('problems' in parsed) {
      sendJson(response, 400, { message: `Invalid alert: ${parsed.problems.join('; ')}` });
      return;
    }
    let staged: { readonly alert: StoredAlert; readonly created: boolean };
    try {
      staged = this.#stage(parsed.input);
    } catch (error) {
      if (!(error instanceof GitHubEmulatorError)) throw error;
      sendJson(response, 409, { message: error.message });
      return;
    }
    sendJson(response, staged.created ? 201 : 200, { number: staged.alert.number });
  }

  #route(method: string, path: string, authorized: boolean): { status: number; body: object } {
    const match = ALERT_PATH.exec(path);
    // GitHub answers 404 for unknown routes whatever the credentials.
    if (match === null || method !== 'GET') return notFound();
    if (!authorized)
      return { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS_URL } };
    const failure = this.#failures.shift();
    if (failure !== undefined) {
      return { status: failure, body: { message: 'Emulated failure', documentation_url: DOCS_URL } };
    }
    const [, owner, repo, number] = match;
    const alert = this.#alerts.get(alertKey(`${decode(owner)}/${decode(repo)}`, Number(number)));
    if (alert === undefined) return notFound();
    return { status: 200, body: this.#alertResource(alert, true) };
  }

  #isAuthorized(header: string | undefined): boolean {
    const presented = /^(?:Bearer|token)\s+(\S+)$/i.exec(header ?? '')?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), this.#tokenDigest);
  }

  /** The alert as the REST API shows it; `withSecret` only for the API, never for the webhook. */
  #alertResource(alert: StoredAlert, withSecret: boolean): Record<string, unknown> {
    const apiPath = `${this.#url}/repos/${alert.repository}/secret-scanning/alerts/${alert.number}`;
    return {
      number: alert.number,
      created_at: alert.createdAt,
      updated_at: null,
      url: apiPath,
      html_url: alert.htmlUrl,
      locations_url: `${apiPath}/locations`,
      state: 'open',
      resolution: null,
      resolved_at: null,
      resolved_by: null,
      resolution_comment: null,
      secret_type: alert.secretType,
      secret_type_display_name: 'Stytch M2M client secret',
      ...(withSecret ? { secret: alert.secret } : {}),
      validity: 'unknown',
      publicly_leaked: false,
      multi_repo: false,
    };
  }

  #webhookPayload(alert: StoredAlert): Record<string, unknown> {
    const [owner = '', name = ''] = alert.repository.split('/');
    return {
      action: 'created',
      alert: this.#alertResource(alert, false),
      repository: {
        id: 1,
        name,
        full_name: alert.repository,
        private: true,
        owner: { login: owner, type: 'Organization' },
        html_url: `${this.#webUrl}/${alert.repository}`,
      },
      organization: { login: owner },
      sender: { login: 'github', type: 'Bot' },
    };
  }
}

/**
 * The body as text, or refused: `too_large` when it is over {@link MAX_ADMIN_BODY_BYTES} (drained,
 * so the 413 reaches the client); `cut` when the connection failed or the body went past
 * {@link MAX_DRAINED_BYTES} (the connection is cut: there is nobody to answer).
 */
async function readLimitedBody(
  request: IncomingMessage,
): Promise<{ readonly refused: null; readonly text: string } | { readonly refused: 'too_large' | 'cut' }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buffer.length;
      if (size > MAX_DRAINED_BYTES) {
        request.socket.destroy();
        return { refused: 'cut' };
      }
      if (size <= MAX_ADMIN_BODY_BYTES) chunks.push(buffer);
    }
  } catch {
    return { refused: 'cut' };
  }
  if (size > MAX_ADMIN_BODY_BYTES) return { refused: 'too_large' };
  return { refused: null, text: Buffer.concat(chunks).toString('utf8') };
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: object,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (response.destroyed || response.writableEnded) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function notFound(): { status: number; body: object } {
  return { status: 404, body: { message: 'Not Found', documentation_url: DOCS_URL } };
}

function alertKey(repository: string, number: number): string {
  // GitHub's owner and repository names are case-insensitive.
  return `${repository.toLowerCase()}#${number}`;
}

function decode(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? '');
  } catch {
    return '';
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
