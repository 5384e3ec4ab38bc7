// Dependency-free on purpose: the consumer library can import this rule as it is.

/**
 * The OAuth `error` values that mean "the token endpoint refused this client's credentials".
 * Stytch's value for a wrong secret is not confirmed anywhere (stytch-api.md §5, §12: only a Go
 * test mock shows `invalid_client`), so every RFC 6749 code a server could plausibly use for a
 * failed client authentication counts (§5.2's three, and `access_denied` from §4.1.2.1).
 */
export const CLIENT_AUTH_REFUSAL_ERRORS: ReadonlySet<string> = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_grant',
  'access_denied',
]);

/** The HTTP statuses of a refusal: 400 (stytch-node #314) or 401 (RFC 6749 §5.2 for `invalid_client`). */
export const CLIENT_AUTH_REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 401]);

/**
 * Whether a token-endpoint answer refuses the client's credentials: HTTP 400 or 401 with an
 * OAuth `error` in {@link CLIENT_AUTH_REFUSAL_ERRORS}. Anything else (a 5xx, a 429, another
 * `error` such as `invalid_scope`, no answer at all) says nothing about the secret.
 *
 * @param statusCode the HTTP status of the answer (0 or anything outside 400/401 is never a refusal)
 * @param oauthError the answer's OAuth `error` value, when it had one
 */
export function isClientAuthRefusal(statusCode: number, oauthError: string | null | undefined): boolean {
  return (
    CLIENT_AUTH_REFUSAL_STATUSES.has(statusCode) &&
    typeof oauthError === 'string' &&
    CLIENT_AUTH_REFUSAL_ERRORS.has(oauthError)
  );
}
