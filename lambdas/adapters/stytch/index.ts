// The Stytch adapter's public surface: the client, its errors and its domain types.
export { LIVE_BASE_URL, resolveBaseUrl, TEST_BASE_URL } from './baseUrl.js';
export type { ConnectedApps } from './ConnectedApps.js';
export {
  CLIENT_AUTH_REFUSAL_ERRORS,
  CLIENT_AUTH_REFUSAL_STATUSES,
  isClientAuthRefusal,
} from './clientRefusal.js';
export {
  StytchApiError,
  type StytchApiErrorDetails,
  StytchConfigError,
  StytchError,
  type StytchErrorOptions,
  StytchNetworkError,
  StytchPublicClientError,
  StytchRateLimitedError,
  StytchResponseValidationError,
  StytchTimeoutError,
  StytchTokenVerificationError,
  type StytchTransportErrorDetails,
  TokenVerificationReason,
} from './errors.js';
export type { M2MClients } from './M2MClients.js';
export { StytchClient } from './StytchClient.js';
export { missingScopes } from './scopes.js';
export { TokenVerifier, type TokenVerifierConfig } from './TokenVerifier.js';
export * from './types.js';
