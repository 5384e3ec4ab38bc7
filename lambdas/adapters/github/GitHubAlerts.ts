import * as z from 'zod';
import { RotatorError } from '#core/errors.js';
import {
  DEFAULT_GITHUB_API_URL,
  type GitHubAlertSecret,
  type GitHubAlertsPort,
} from '#core/githubWebhook.js';
import { Secret } from '#core/secret.js';
import packageJson from '../../../package.json' with { type: 'json' };
import { systemErrorCode } from '../systemErrorCode.js';

/** GitHub's public API. GitHub Enterprise Server: `https://HOST/api/v3`. */
export { DEFAULT_GITHUB_API_URL };
/** The REST API version every request asks for. */
export const GITHUB_API_VERSION = '2022-11-28';
/**
 * One attempt's deadline, headers and body together. GitHub gives a webhook 10 seconds to answer,
 * and the alert fetch is one step of that answer.
 */
export const DEFAULT_GITHUB_TIMEOUT_MS = 5_000;

const ROUTE = 'GET /repos/{owner}/{repo}/secret-scanning/alerts/{alert_number}';
const USER_AGENT = `stytch-m2m-rotator/${packageJson.version}`;
const MAX_SERVER_TEXT = 200;
const REPOSITORY_PATTERN = /^([A-Za-z0-9_.-]{1,100})\/([A-Za-z0-9_.-]{1,100})$/;
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
/** The code of the failure of a call made after {@link GitHubAlerts.close}. */
export const GITHUB_CLOSED_CODE = 'ERR_GITHUB_CLIENT_CLOSED';
const CLOSED_CODES = new Set([GITHUB_CLOSED_CODE, 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

/**
 * Base of every error of the GitHub adapter. Messages name the route, the repository and the
 * alert number: never the token, and never the alert's secret.
 */
export class GitHubError extends RotatorError {
  public constructor(message: string, options: ErrorOptions & { readonly retryable?: boolean } = {}) {
    super(message, options);
    this.name = 'GitHubError';
  }
}

/** Which alert a call was about. */
export interface GitHubAlertRef {
  readonly repository: string;
  readonly alertNumber: number;
}

/**
 * GitHub answered with a non-2xx status. Retryable for 5xx, 429 and a 403 that is a rate limit;
 * 401 (bad token), 403 (no permission) and 404 (no such alert, or no access to it) are permanent.
 */
export class GitHubApiError extends GitHubError {
  public readonly repository: string;
  public readonly alertNumber: number;
  public readonly statusCode: number;
  /** `X-GitHub-Request-Id`, for GitHub support. */
  public readonly requestId: string | null;

  public constructor(
    ref: GitHubAlertRef,
    details: {
      readonly statusCode: number;
      readonly githubMessage: string;
      readonly requestId: string | null;
      readonly retryable: boolean;
    },
  ) {
    super(
      `GitHub ${ROUTE} for ${ref.repository} alert #${ref.alertNumber} failed with HTTP ${details.statusCode}: ` +
        `${details.githubMessage}${details.requestId === null ? '' : ` (request id ${details.requestId})`}`,
      { retryable: details.retryable },
    );
    this.name = 'GitHubApiError';
    this.repository = ref.repository;
    this.alertNumber = ref.alertNumber;
    this.statusCode = details.statusCode;
    this.requestId = details.requestId;
  }
}

/** No complete answer within the deadline. Retryable (the call is a read). */
export class GitHubTimeoutError extends GitHubError {
  public readonly repository: string;
  public readonly alertNumber: number;

  public constructor(ref: GitHubAlertRef, timeoutMs: number, options: ErrorOptions = {}) {
    super(`GitHub ${ROUTE} for ${ref.repository} alert #${ref.alertNumber} timed out after ${timeoutMs} ms`, {
      ...options,
      retryable: true,
    });
    this.name = 'GitHubTimeoutError';
    this.repository = ref.repository;
    this.alertNumber = ref.alertNumber;
  }
}

/** The connection failed (refused, reset, DNS). Retryable, except on a closed client. */
export class GitHubNetworkError extends GitHubError {
  public readonly repository: string;
  public readonly alertNumber: number;
  /** The system or undici error code, when there was one. */
  public readonly code: string | null;

  public constructor(ref: GitHubAlertRef, code: string | null, options: ErrorOptions = {}) {
    super(
      `GitHub ${ROUTE} for ${ref.repository} alert #${ref.alertNumber} failed: network error ${code ?? 'unknown'}`,
      { ...options, retryable: code === null || !CLOSED_CODES.has(code) },
    );
    this.name = 'GitHubNetworkError';
    this.repository = ref.repository;
    this.alertNumber = ref.alertNumber;
    this.code = code;
  }
}

/**
 * A 200 answer without the documented shape (e.g. no `secret`: a token that may not see secret
 * values). Permanent. `issues` hold paths and codes only: the body holds a secret.
 */
export class GitHubResponseValidationError extends GitHubError {
  public readonly repository: string;
  public readonly alertNumber: number;
  public readonly issues: readonly string[];

  public constructor(ref: GitHubAlertRef, issues: readonly string[]) {
    super(
      `GitHub ${ROUTE} for ${ref.repository} alert #${ref.alertNumber} returned an unexpected body: ${issues.join('; ')}`,
    );
    this.name = 'GitHubResponseValidationError';
    this.repository = ref.repository;
    this.alertNumber = ref.alertNumber;
    this.issues = issues;
  }
}

/** A repository name or alert number that cannot be part of the URL. Permanent. */
export class GitHubRequestError extends GitHubError {
  public constructor(problem: string) {
    super(`Invalid GitHub alert request: ${problem}`);
    this.name = 'GitHubRequestError';
  }
}

/** Props of {@link GitHubAlerts}. */
export interface GitHubAlertsProps {
  /**
   * The API token (fine-grained: "Secret scanning alerts" read), or where to get it on each call
   * (a cached Secrets Manager read, so an operator's new token is picked up).
   */
  readonly token: Secret | (() => Promise<Secret>);
  /**
   * The API's base URL, without a trailing slash.
   * @default DEFAULT_GITHUB_API_URL
   */
  readonly apiUrl?: string;
  /**
   * Deadline of the call, headers and body together.
   * @default DEFAULT_GITHUB_TIMEOUT_MS
   */
  readonly timeoutMs?: number;
  /**
   * Sends the request (e.g. undici's `fetch` over a dispatcher of the caller's).
   * @default globalThis.fetch - Node's own, pooling keep-alive connections process-wide
   */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

// Loose: GitHub adds fields. `secret` is the reason for the call; the rest is for the event.
const AlertResponseSchema = z.object({
  number: z.number().int().positive(),
  secret: z.string().min(1),
  secret_type: z.string().optional(),
  html_url: z.string().max(2048).optional(),
  state: z.string().optional(),
});

const ErrorBodySchema = z.object({ message: z.string().optional() });

/**
 * {@link GitHubAlertsPort} over GitHub's REST API with Node's fetch (no HTTP client in the Lambda
 * bundle): one GET per alert, one deadline,
 * no retries (GitHub waits 10 seconds for the webhook's answer; a failed fetch answers 502 and the
 * delivery is redelivered instead). The alert's `secret` is wrapped in a {@link Secret} as soon as
 * the body is parsed.
 */
export class GitHubAlerts implements GitHubAlertsPort {
  readonly #token: () => Promise<Secret>;
  readonly #apiUrl: string;
  readonly #timeoutMs: number;
  readonly #fetch: NonNullable<GitHubAlertsProps['fetch']>;
  #closed = false;

  public constructor(props: GitHubAlertsProps) {
    const { token } = props;
    this.#token = token instanceof Secret ? () => Promise.resolve(token) : token;
    this.#apiUrl = (props.apiUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, '');
    this.#timeoutMs = props.timeoutMs ?? DEFAULT_GITHUB_TIMEOUT_MS;
    this.#fetch = props.fetch ?? globalThis.fetch;
  }

  /**
   * @throws {GitHubRequestError} for a malformed repository name or alert number (permanent)
   * @throws {GitHubApiError} for a non-2xx answer (retryable for 5xx, 429 and rate limits)
   * @throws {GitHubTimeoutError} / {GitHubNetworkError} when no answer came (retryable)
   * @throws {GitHubResponseValidationError} for a 200 without a secret (permanent)
   */
  public async fetchAlertSecret(repoFullName: string, alertNumber: number): Promise<GitHubAlertSecret> {
    const match = REPOSITORY_PATTERN.exec(repoFullName);
    const [, owner, repo] = match ?? [];
    if (owner === undefined || repo === undefined) {
      throw new GitHubRequestError('the repository must be owner/repo of A-Z a-z 0-9 . _ -');
    }
    if (!Number.isSafeInteger(alertNumber) || alertNumber < 1) {
      throw new GitHubRequestError('the alert number must be a positive integer');
    }
    const ref: GitHubAlertRef = { repository: repoFullName, alertNumber };
    if (this.#closed) throw new GitHubNetworkError(ref, GITHUB_CLOSED_CODE);
    const token = await this.#readToken();
    const url =
      `${this.#apiUrl}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}` +
      `/secret-scanning/alerts/${alertNumber}`;

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    let statusCode: number;
    let headers: Headers;
    let text: string;
    try {
      const response = await this.#fetch(url, {
        method: 'GET',
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${token.reveal()}`,
          'user-agent': USER_AGENT,
          'x-github-api-version': GITHUB_API_VERSION,
        },
        signal: controller.signal,
        // A redirect is an answer to report, not to follow with the token.
        redirect: 'manual',
      });
      statusCode = response.status;
      headers = response.headers;
      text = await response.text();
    } catch (cause) {
      const code = systemErrorCode(cause);
      if (timedOut || (code !== null && TIMEOUT_CODES.has(code))) {
        throw new GitHubTimeoutError(ref, this.#timeoutMs, { cause });
      }
      throw new GitHubNetworkError(ref, code, { cause });
    } finally {
      clearTimeout(timer);
    }

    if (statusCode < 200 || statusCode >= 300) {
      throw new GitHubApiError(ref, {
        statusCode,
        githubMessage: githubMessageOf(text, token),
        requestId: headerValue(headers.get('x-github-request-id')),
        retryable: isRetryableStatus(statusCode, headers),
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new GitHubResponseValidationError(ref, ['(body): invalid_json']);
    }
    const parsed = AlertResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new GitHubResponseValidationError(
        ref,
        parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.code}`),
      );
    }
    const secret = new Secret(parsed.data.secret);
    if (parsed.data.number !== alertNumber) {
      throw new GitHubResponseValidationError(ref, ['number: does_not_match_request']);
    }
    return {
      secret,
      ...(parsed.data.html_url === undefined ? {} : { htmlUrl: parsed.data.html_url }),
    };
  }

  /**
   * Ends the client: later calls fail (not retryable). Node's fetch pools connections
   * process-wide and closes idle ones itself. Idempotent.
   */
  public close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  async #readToken(): Promise<Secret> {
    try {
      return await this.#token();
    } catch (error) {
      if (error instanceof RotatorError) throw error;
      throw new GitHubError('The GitHub token could not be read', { cause: error });
    }
  }
}

/** 5xx, 429, and a 403 that is a rate limit (GitHub signals those in headers, not the status). */
function isRetryableStatus(statusCode: number, headers: Headers): boolean {
  if (statusCode >= 500 || statusCode === 429) return true;
  return (
    statusCode === 403 &&
    (headerValue(headers.get('x-ratelimit-remaining')) === '0' ||
      headerValue(headers.get('retry-after')) !== null)
  );
}

/** GitHub's `message`, without the token should a proxy echo it, and bounded (an HTML page is no message). */
function githubMessageOf(text: string, token: Secret): string {
  let message: string;
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    message = parsed.success && parsed.data.message !== undefined ? parsed.data.message : 'no error message';
  } catch {
    message = 'non-JSON error response';
  }
  const value = token.reveal();
  if (value.length >= 4) message = message.split(value).join('[redacted]');
  return message.length > MAX_SERVER_TEXT ? `${message.slice(0, MAX_SERVER_TEXT)}…` : message;
}

function headerValue(value: string | null): string | null {
  return value === null || value === '' ? null : value.slice(0, 100);
}
