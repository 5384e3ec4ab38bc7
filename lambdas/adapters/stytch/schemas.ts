import * as z from 'zod';
import { Secret } from '#core/secret.js';
import { StytchResponseValidationError } from './errors.js';
import type { TransportResponse } from './transport.js';
import type { ConnectedApp, M2MClient } from './types.js';

// Wire shapes are snake_case as Stytch sends them; each exported schema transforms into the
// camelCase domain object, and wraps any secret in `Secret` the moment it is parsed. Unknown keys
// are dropped (zod's default), so new Stytch fields never break us; missing documented fields do.

const m2mClientWire = z.object({
  client_id: z.string().min(1),
  // Stytch emits "" for unset names; null or absent is tolerated the same way.
  client_name: z.string().nullish(),
  client_description: z.string().nullish(),
  status: z.enum(['active', 'inactive']),
  scopes: z.array(z.string()),
  client_secret_last_four: z.string(),
  next_client_secret_last_four: z.string().nullish(),
  trusted_metadata: z.record(z.string(), z.unknown()).nullish(),
});

function toM2MClient(wire: z.output<typeof m2mClientWire>): M2MClient {
  return {
    clientId: wire.client_id,
    clientName: wire.client_name ?? '',
    clientDescription: wire.client_description ?? '',
    status: wire.status,
    scopes: wire.scopes,
    clientSecretLastFour: wire.client_secret_last_four,
    nextClientSecretLastFour: wire.next_client_secret_last_four ?? null,
    trustedMetadata: wire.trusted_metadata ?? {},
  };
}

const resultsMetadata = z.object({
  total: z.number().int(),
  // An empty cursor is treated as "no more pages", like null.
  next_cursor: z
    .string()
    .nullish()
    .transform((cursor) => (cursor === undefined || cursor === null || cursor === '' ? null : cursor)),
});

/** `{m2m_client}` of get, update, rotate and rotate/cancel. */
export const m2mClientResponse = z
  .object({ m2m_client: m2mClientWire })
  .transform((r) => toM2MClient(r.m2m_client));

/** Create: the client plus its one-time `client_secret`. */
export const m2mCreateResponse = z
  .object({ m2m_client: m2mClientWire.extend({ client_secret: z.string().min(1) }) })
  .transform((r) => ({
    client: toM2MClient(r.m2m_client),
    clientSecret: new Secret(r.m2m_client.client_secret),
  }));

/** Rotate/start: the client plus its one-time `next_client_secret`. */
export const m2mRotateStartResponse = z
  .object({ m2m_client: m2mClientWire.extend({ next_client_secret: z.string().min(1) }) })
  .transform((r) => ({
    client: toM2MClient(r.m2m_client),
    nextClientSecret: new Secret(r.m2m_client.next_client_secret),
  }));

/** Search: one page of clients. */
export const m2mSearchResponse = z
  .object({ m2m_clients: z.array(m2mClientWire), results_metadata: resultsMetadata })
  .transform((r) => ({
    clients: r.m2m_clients.map(toM2MClient),
    nextCursor: r.results_metadata.next_cursor,
    total: r.results_metadata.total,
  }));

/** Delete: echoes the id. */
export const deleteResponse = z.object({ client_id: z.string() });

const connectedAppWire = z.object({
  client_id: z.string().min(1),
  client_name: z.string().nullish(),
  client_description: z.string().nullish(),
  client_type: z.enum(['first_party', 'first_party_public', 'third_party', 'third_party_public']),
  status: z.string().nullish(),
  full_access_allowed: z.boolean().nullish(),
  redirect_urls: z.array(z.string()).nullish(),
  post_logout_redirect_urls: z.array(z.string()).nullish(),
  access_token_expiry_minutes: z.number().nullish(),
  access_token_custom_audience: z.string().nullish(),
  access_token_template_content: z.string().nullish(),
  bypass_consent_for_offline_access: z.boolean().nullish(),
  creation_method: z.string().nullish(),
  logo_url: z.string().nullish(),
  client_id_metadata_url: z.string().nullish(),
  client_secret_last_four: z.string().nullish(),
  next_client_secret_last_four: z.string().nullish(),
});

function toConnectedApp(wire: z.output<typeof connectedAppWire>): ConnectedApp {
  return {
    clientId: wire.client_id,
    clientName: wire.client_name ?? '',
    clientDescription: wire.client_description ?? '',
    clientType: wire.client_type,
    isPublic: wire.client_type.endsWith('_public'),
    status: wire.status ?? null,
    fullAccessAllowed: wire.full_access_allowed ?? null,
    redirectUrls: wire.redirect_urls ?? [],
    postLogoutRedirectUrls: wire.post_logout_redirect_urls ?? [],
    accessTokenExpiryMinutes: wire.access_token_expiry_minutes ?? null,
    accessTokenCustomAudience: wire.access_token_custom_audience ?? null,
    accessTokenTemplateContent: wire.access_token_template_content ?? null,
    bypassConsentForOfflineAccess: wire.bypass_consent_for_offline_access ?? null,
    creationMethod: wire.creation_method ?? null,
    logoUrl: wire.logo_url ?? null,
    clientIdMetadataUrl: wire.client_id_metadata_url ?? null,
    clientSecretLastFour: wire.client_secret_last_four ?? null,
    nextClientSecretLastFour: wire.next_client_secret_last_four ?? null,
  };
}

/** `{connected_app}` of get, rotate and rotate/cancel. */
export const connectedAppResponse = z
  .object({ connected_app: connectedAppWire })
  .transform((r) => toConnectedApp(r.connected_app));

/** Rotate/start: the app plus its one-time `next_client_secret`. */
export const connectedAppRotateStartResponse = z
  .object({ connected_app: connectedAppWire.extend({ next_client_secret: z.string().min(1) }) })
  .transform((r) => ({
    app: toConnectedApp(r.connected_app),
    nextClientSecret: new Secret(r.connected_app.next_client_secret),
  }));

/** Search: one page of apps. */
export const connectedAppSearchResponse = z
  .object({ connected_apps: z.array(connectedAppWire), results_metadata: resultsMetadata })
  .transform((r) => ({
    apps: r.connected_apps.map(toConnectedApp),
    nextCursor: r.results_metadata.next_cursor,
    total: r.results_metadata.total,
  }));

/** Token endpoint success. */
export const tokenResponse = z
  .object({
    access_token: z.string().min(1),
    token_type: z.string(),
    expires_in: z.number().positive(),
  })
  .transform((r) => ({
    accessToken: new Secret(r.access_token),
    tokenType: r.token_type,
    expiresIn: r.expires_in,
  }));

/** JWKS: the keys are checked further by jose when the key set is built. */
export const jwksResponse = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })),
});

/**
 * Validates a response body, describing a mismatch by paths and codes only: zod messages are
 * left out because a body may carry a secret next to the field that failed.
 * @throws {StytchResponseValidationError}
 */
export function parseResponse<Schema extends z.ZodType>(
  schema: Schema,
  response: TransportResponse,
  route: string,
): z.output<Schema> {
  const result = schema.safeParse(response.body, { reportInput: false });
  if (result.success) {
    return result.data;
  }
  const issues = result.error.issues.map(
    (issue) => `${issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.')}: ${issue.code}`,
  );
  throw new StytchResponseValidationError(route, response.statusCode, issues);
}
