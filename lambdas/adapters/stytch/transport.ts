import * as z from 'zod';
import { Secret } from '#core/secret.js';
import packageJson from '../../../package.json' with { type: 'json' };
import { systemErrorCode } from '../systemErrorCode.js';
import {
  StytchApiError,
  type StytchError,
  StytchNetworkError,
  StytchRateLimitedError,
  StytchResponseValidationError,
  StytchTimeoutError,
} from './errors.js';
import type { RetryPolicy } from './options.js';
import { backoffDelayMs, parseRetryAfterMs } from './retry.js';
import type { BeforeRequest, FetchFunction, StytchLogger, StytchRateGroup } from './types.js';

/** HTTP methods the Stytch routes use. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A request body: JSON for management routes, a form for the token endpoint. */
export type RequestBody = { readonly json: unknown } | { readonly form: URLSearchParams };

/** One logical call; the transport may send it several times. */
export interface TransportRequest {
  readonly method: HttpMethod;
  /** Route template for logs and errors, e.g. `GET /v1/m2m/clients/{client_id}`. */
  readonly route: string;
  /** The path with encoded parameters, appended to the base URL. */
  readonly path: string;
  /** `project` sends Basic project credentials; `none` sends no Authorization header at all. */
  readonly auth: 'project' | 'none';
  readonly body?: RequestBody;
  /**
   * Whether sending twice is harmless. Only idempotent calls are retried after a timeout or a
   * reset, when the first attempt may already have taken effect.
   */
  readonly idempotent: boolean;
  /** Secret values the request carries, scrubbed from any text Stytch sends back. */
  readonly secrets?: readonly Secret[];
}

/** A 2xx answer with its parsed JSON body (not yet validated). */
export interface TransportResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

/** What the transport needs; see {@link ResolvedOptions} for the meaning of each. */
export interface TransportConfig {
  readonly baseUrl: string;
  readonly projectId: string;
  readonly secret: Secret;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly fetch: FetchFunction | undefined;
  readonly logger: StytchLogger;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly beforeRequest: BeforeRequest | undefined;
}

/** The User-Agent of every request. */
export const USER_AGENT = `stytch-m2m-rotator/${packageJson.version}`;

const REDACTED = '[redacted]';
const MAX_SERVER_TEXT = 500;
const MIN_SCRUB_LENGTH = 4;

// Connection errors raised before any byte of the request left the process: safe to retry on
// every route, and the operation certainly did not happen.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EAI_NODATA',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** The code of the failure of a call made after {@link Transport.close}. */
export const CLOSED_CODE = 'ERR_STYTCH_CLIENT_CLOSED';
// The client, or the dispatcher behind an injected fetch, was closed: a programming error no
// retry fixes.
const CLOSED_CODES = new Set([CLOSED_CODE, 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

// Both Stytch error shapes in one loose schema; every field optional because a proxy or load
// balancer may answer instead of Stytch.
const errorBodySchema = z.object({
  error_type: z.string().optional(),
  error_message: z.string().optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
  request_id: z.string().optional(),
});

type AttemptOutcome =
  | {
      readonly kind: 'response';
      readonly statusCode: number;
      readonly retryAfter: string | undefined;
      readonly text: string;
    }
  | { readonly kind: 'failure'; readonly error: StytchError; readonly sent: boolean };

/**
 * Sends Stytch requests with `fetch` (Node's own, built on its bundled undici: keep-alive
 * connections pooled per origin, idle ones closed after 4 s and never holding the process open)
 * with per-attempt deadlines and bounded, jittered retries, and turns every failure into a typed
 * {@link StytchError}. Node's fetch, not the undici package: a Lambda bundle then carries no HTTP
 * client of its own (undici was over half of each bundle).
 */
export class Transport {
  readonly #config: TransportConfig;
  readonly #fetch: FetchFunction;
  // Kept as Secrets so inspecting the transport never shows the credentials.
  readonly #authorization: Secret;
  // Every form of the project credentials a server could reflect back: the secret, the base64
  // credentials and the whole header value.
  readonly #projectSecrets: readonly Secret[];
  #closed = false;

  public constructor(config: TransportConfig) {
    this.#config = config;
    this.#fetch = config.fetch ?? globalThis.fetch;
    const credentials = new Secret(
      Buffer.from(`${config.projectId}:${config.secret.reveal()}`).toString('base64'),
    );
    this.#authorization = new Secret(`Basic ${credentials.reveal()}`);
    this.#projectSecrets = [config.secret, credentials, this.#authorization];
  }

  /**
   * Sends the request, retrying as the policy allows, and returns the 2xx answer's JSON body.
   * @throws {StytchError} a subclass describing the last failure
   */
  public async send(request: TransportRequest): Promise<TransportResponse> {
    const { maxAttempts } = this.#config.retry;
    const group = rateGroupOf(request);
    for (let attempt = 1; ; attempt++) {
      if (group !== null && !this.#closed)
        await this.#config.beforeRequest?.({ route: request.route, group });
      const outcome = await this.#attempt(request, attempt);
      if (outcome.kind === 'response' && outcome.statusCode >= 200 && outcome.statusCode < 300) {
        return { statusCode: outcome.statusCode, body: parseSuccessBody(request.route, outcome) };
      }
      const error = outcome.kind === 'response' ? this.#apiError(request, outcome) : outcome.error;
      if (attempt >= maxAttempts || !this.#shouldRetry(request, outcome, error)) {
        throw error;
      }
      const delayMs = this.#retryDelay(request, attempt, error);
      this.#config.logger.warn('Stytch request failed; retrying', {
        route: request.route,
        attempt,
        maxAttempts,
        delayMs,
        error: error.name,
        ...(error instanceof StytchApiError
          ? { statusCode: error.statusCode, errorType: error.errorType }
          : {}),
        ...(error instanceof StytchNetworkError ? { code: error.code } : {}),
      });
      await this.#config.sleep(delayMs);
    }
  }

  /**
   * Ends the transport: every later call fails with a non-retryable {@link StytchNetworkError}
   * ({@link CLOSED_CODE}). Node's fetch pools connections process-wide and closes idle ones
   * itself, so there is nothing else to release. Calling it again does nothing.
   */
  public close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #shouldRetry(request: TransportRequest, outcome: AttemptOutcome, error: StytchError): boolean {
    if (outcome.kind === 'response') {
      return outcome.statusCode === 429 || outcome.statusCode >= 500;
    }
    if (!error.retryable) {
      return false;
    }
    // A request that may have reached Stytch is repeated only when repeating is harmless: a
    // second rotate/start would replace the one-time next secret we never received.
    return !outcome.sent || request.idempotent;
  }

  /** Backoff for the next attempt; a 429's Retry-After sets a floor, or ends the call if too long. */
  #retryDelay(request: TransportRequest, attempt: number, error: StytchError): number {
    const backoff = backoffDelayMs(attempt, this.#config.retry, this.#config.random);
    if (!(error instanceof StytchRateLimitedError) || error.retryAfterMs === null) {
      return backoff;
    }
    if (error.retryAfterMs > this.#config.retry.maxRetryAfterMs) {
      this.#config.logger.warn('Stytch Retry-After exceeds the cap; not retrying', {
        route: request.route,
        attempt,
        retryAfterMs: error.retryAfterMs,
        maxRetryAfterMs: this.#config.retry.maxRetryAfterMs,
      });
      throw error;
    }
    return Math.max(backoff, error.retryAfterMs);
  }

  async #attempt(request: TransportRequest, attempt: number): Promise<AttemptOutcome> {
    if (this.#closed) return closedFailure(request.route, attempt);
    const { timeoutMs } = this.#config;
    const controller = new AbortController();
    let timedOut = false;
    // One deadline for connecting, headers and body together: the abort ends whichever is running.
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const response = await this.#fetch(`${this.#config.baseUrl}${request.path}`, {
        method: request.method,
        headers: this.#headers(request),
        body: serializeBody(request.body),
        signal: controller.signal,
        // A redirect is an answer to report, not to follow with the project credentials.
        redirect: 'manual',
      });
      const text = await response.text();
      this.#config.logger.debug('Stytch response', {
        route: request.route,
        attempt,
        statusCode: response.status,
      });
      const retryAfter = response.headers.get('retry-after') ?? undefined;
      return { kind: 'response', statusCode: response.status, retryAfter, text };
    } catch (cause) {
      return this.#failure(request, attempt, cause, timedOut);
    } finally {
      clearTimeout(timer);
    }
  }

  #headers(request: TransportRequest): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    if (request.body !== undefined) {
      headers['content-type'] =
        'json' in request.body ? 'application/json' : 'application/x-www-form-urlencoded';
    }
    if (request.auth === 'project') {
      headers.authorization = this.#authorization.reveal();
    }
    return headers;
  }

  #failure(request: TransportRequest, attempts: number, cause: unknown, timedOut: boolean): AttemptOutcome {
    const code = systemErrorCode(cause);
    const { route } = request;
    if (timedOut || (code !== null && TIMEOUT_CODES.has(code))) {
      // Only a connect timeout proves nothing was sent; any later timeout, and the deadline's
      // abort (which cannot tell connecting from waiting), may follow a request Stytch received
      // and acted on.
      const sent = code !== 'UND_ERR_CONNECT_TIMEOUT';
      const error = new StytchTimeoutError(
        { route, attempts, outcomeUnknown: sent, retryable: true, timeoutMs: this.#config.timeoutMs },
        { cause },
      );
      return { kind: 'failure', error, sent };
    }
    if (code !== null && CLOSED_CODES.has(code)) {
      const error = new StytchNetworkError(
        { route, attempts, outcomeUnknown: false, retryable: false, code },
        { cause },
      );
      return { kind: 'failure', error, sent: false };
    }
    const sent = code === null || !NOT_SENT_CODES.has(code);
    const error = new StytchNetworkError(
      { route, attempts, outcomeUnknown: sent, retryable: true, code },
      { cause },
    );
    return { kind: 'failure', error, sent };
  }

  #apiError(
    request: TransportRequest,
    outcome: Extract<AttemptOutcome, { kind: 'response' }>,
  ): StytchApiError {
    const scrub = (text: string): string => this.#scrub(text, request.secrets);
    const parsed = errorBodySchema.safeParse(safeJsonParse(outcome.text));
    const body = parsed.success ? parsed.data : {};
    const details = {
      route: request.route,
      statusCode: outcome.statusCode,
      errorType: scrub(body.error ?? body.error_type ?? 'unknown_error'),
      requestId: body.request_id === undefined ? null : scrub(body.request_id),
      errorMessage: scrub(
        body.error_description ??
          body.error_message ??
          (parsed.success ? 'no error message' : 'non-JSON error response'),
      ),
    };
    if (outcome.statusCode === 429) {
      const retryAfterMs = parseRetryAfterMs(outcome.retryAfter, this.#config.now());
      return new StytchRateLimitedError({ ...details, retryAfterMs });
    }
    return new StytchApiError(details);
  }

  /**
   * Removes every secret the request carried from text Stytch sent back, so an error message can
   * never echo one, and bounds its length (an HTML error page is not a message).
   */
  #scrub(text: string, secrets: readonly Secret[] = []): string {
    let result = text;
    for (const secret of [...this.#projectSecrets, ...secrets]) {
      const value = secret.reveal();
      // Real secrets are long; scrubbing a 1-3 character test value would only mangle the text.
      if (value.length >= MIN_SCRUB_LENGTH) result = result.split(value).join(REDACTED);
    }
    return result.length > MAX_SERVER_TEXT ? `${result.slice(0, MAX_SERVER_TEXT)}…` : result;
  }
}

/** The limit group a request counts in: the JWKS (no credentials) is in none. */
function rateGroupOf(request: TransportRequest): StytchRateGroup | null {
  if (request.auth === 'project') return 'management';
  return request.route.endsWith('/oauth2/token') ? 'token' : null;
}

function closedFailure(route: string, attempts: number): AttemptOutcome {
  const error = new StytchNetworkError({
    route,
    attempts,
    outcomeUnknown: false,
    retryable: false,
    code: CLOSED_CODE,
  });
  return { kind: 'failure', error, sent: false };
}

function serializeBody(body: RequestBody | undefined): string | undefined {
  if (body === undefined) return undefined;
  return 'json' in body ? JSON.stringify(body.json) : body.form.toString();
}

function parseSuccessBody(route: string, outcome: Extract<AttemptOutcome, { kind: 'response' }>): unknown {
  const body = safeJsonParse(outcome.text);
  if (body === undefined) {
    throw new StytchResponseValidationError(route, outcome.statusCode, ['(body): invalid_json']);
  }
  return body;
}

function safeJsonParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
