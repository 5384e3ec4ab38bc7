import { RotatorError } from '#core/errors.js';

/** Why the emulator itself failed (bad options, a port in use), as opposed to an API answer. */
export type StytchEmulatorErrorCode = 'invalid_option' | 'port_in_use' | 'listen_failed';

/**
 * Thrown by the emulator's own API: invalid options, invalid fault settings, or a server that
 * could not listen. Never carries a secret value.
 */
export class StytchEmulatorError extends RotatorError {
  public readonly code: StytchEmulatorErrorCode;

  public constructor(message: string, options: ErrorOptions & { readonly code: StytchEmulatorErrorCode }) {
    super(message, options);
    this.name = 'StytchEmulatorError';
    this.code = options.code;
  }
}

/** The JSON body of a standard Stytch error. It never has a key named `error` (Node's StytchError branches on it). */
export type StytchErrorBody = {
  readonly status_code: number;
  readonly request_id: string;
  readonly error_type: string;
  readonly error_message: string;
  readonly error_url: string;
};

/** The JSON body of an OAuth2 (RFC 6749 §5.2) error from the token endpoint, plus Stytch's envelope. */
export type OAuthErrorBody = {
  readonly status_code: number;
  readonly request_id: string;
  readonly error: string;
  readonly error_description: string;
  readonly error_uri: string;
};

/** Which of the two error shapes an answer uses: management routes vs. the token endpoint. */
export type ErrorShape = 'standard' | 'oauth';

/**
 * An error answer of the emulated API. Route handlers throw it; the server turns it into a response
 * in one place ({@link ApiError.toBody}). Messages are fixed texts and never include request values.
 */
export class ApiError extends Error {
  public readonly status: number;
  public readonly errorType: string;
  public readonly shape: ErrorShape;
  /** Extra response headers, e.g. `Retry-After` on 429. */
  public readonly headers: Readonly<Record<string, string>>;

  public constructor(
    status: number,
    errorType: string,
    message: string,
    options: { readonly shape?: ErrorShape; readonly headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errorType = errorType;
    this.shape = options.shape ?? 'standard';
    this.headers = options.headers ?? {};
  }

  /** The same error in the other shape (used on the token route, which answers every error the OAuth way). */
  public withShape(shape: ErrorShape): ApiError {
    return new ApiError(this.status, this.errorType, this.message, { shape, headers: this.headers });
  }

  public toBody(requestId: string): StytchErrorBody | OAuthErrorBody {
    const url = `https://stytch.com/docs/api/errors/${this.status}`;
    if (this.shape === 'oauth') {
      return {
        status_code: this.status,
        request_id: requestId,
        error: this.errorType,
        error_description: this.message,
        error_uri: url,
      };
    }
    return {
      status_code: this.status,
      request_id: requestId,
      error_type: this.errorType,
      error_message: this.message,
      error_url: url,
    };
  }
}

/** Which family of client an error is about; the error_type strings differ (`m2m_client_*` vs `connected_app_*`). */
export type ClientKind = 'm2m' | 'connectedApp';

// Messages confirmed by Stytch docs are quoted; the others are ours (see README "Unconfirmed behaviour").
const INTERNAL_MESSAGE =
  'Oops, something seems to have gone wrong, please reach out to support@stytch.com to let us know what went wrong.';

/** Factories for every error the emulator answers with, so types, statuses and texts live in one table. */
export const apiErrors = {
  unauthorized: () => new ApiError(401, 'unauthorized_credentials', 'Unauthorized credentials.'),
  tooManyRequests: (retryAfterSeconds: number) =>
    new ApiError(429, 'too_many_requests', 'Too many requests have been made.', {
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  routeNotFound: () => new ApiError(404, 'route_not_found', 'The requested route could not be found.'),
  methodNotAllowed: () =>
    new ApiError(405, 'method_not_allowed', 'The HTTP method is not allowed for this route.'),
  badRequest: (message: string) => new ApiError(400, 'bad_request', message),
  invalidValue: (message: string) => new ApiError(400, 'invalid_request_value', message),
  projectNotFound: () => new ApiError(404, 'project_not_found', 'The project requested could not be found.'),
  internal: () => new ApiError(500, 'internal_server_error', INTERNAL_MESSAGE),
  clientNotFound: (kind: ClientKind) =>
    kind === 'm2m'
      ? new ApiError(404, 'm2m_client_not_found', 'The m2m client requested could not be found.')
      : new ApiError(404, 'connected_app_not_found', 'The connected app requested could not be found.'),
  alreadyRotating: (kind: ClientKind) =>
    kind === 'm2m'
      ? new ApiError(
          400,
          'm2m_client_already_rotating_secret',
          'The m2m client is already rotating its secret.',
        )
      : new ApiError(
          400,
          'connected_app_already_rotating_secret',
          'The connected app is already rotating its secret.',
        ),
  notRotating: (kind: ClientKind) =>
    kind === 'm2m'
      ? new ApiError(400, 'm2m_client_not_rotating_secret', 'The m2m client is not rotating its secret.')
      : new ApiError(
          400,
          'connected_app_not_rotating_secret',
          'The connected app is not rotating its secret.',
        ),
  publicAppHasNoSecret: () =>
    new ApiError(
      400,
      'public_connected_apps_do_not_have_secrets',
      'Public connected apps do not have secrets.',
    ),
  validation: (errorType: string, message: string) => new ApiError(400, errorType, message),
  duplicateClientId: () =>
    new ApiError(400, 'duplicate_m2m_client_id', 'An m2m client with this client_id already exists.'),
} as const;

/** The error_type an injected fault uses when the caller gave none, by HTTP status. */
export function defaultErrorTypeFor(status: number): {
  readonly errorType: string;
  readonly message: string;
} {
  if (status === 401) return { errorType: 'unauthorized_credentials', message: 'Unauthorized credentials.' };
  if (status === 429) return { errorType: 'too_many_requests', message: 'Too many requests have been made.' };
  if (status === 503)
    return { errorType: 'server_unavailable', message: 'The server is temporarily unavailable.' };
  if (status >= 500) return { errorType: 'internal_server_error', message: INTERNAL_MESSAGE };
  return { errorType: 'bad_request', message: 'The request could not be processed.' };
}

/** The refusal of a failed client authentication unless a mode says otherwise. */
const DEFAULT_CLIENT_REFUSAL = { error: 'invalid_client', status: 400 } as const;

/** OAuth2 token-endpoint errors (RFC 6749 §5.2 codes; Stytch answers them with HTTP 400, stytch-node #314). */
export const oauthErrors = {
  invalidRequest: (message: string) => new ApiError(400, 'invalid_request', message, { shape: 'oauth' }),
  /** Client authentication failed; the `error` and status are a mode (default 400 `invalid_client`). */
  invalidClient: (refusal: { readonly error: string; readonly status: number } = DEFAULT_CLIENT_REFUSAL) =>
    new ApiError(
      refusal.status,
      refusal.error,
      'Client authentication failed: unknown or inactive client, or wrong client_secret.',
      { shape: 'oauth' },
    ),
  unsupportedGrantType: () =>
    new ApiError(400, 'unsupported_grant_type', 'Only the "client_credentials" grant_type is supported.', {
      shape: 'oauth',
    }),
  invalidScope: () =>
    new ApiError(400, 'invalid_scope', 'The requested scope is not assigned to this client.', {
      shape: 'oauth',
    }),
} as const;
