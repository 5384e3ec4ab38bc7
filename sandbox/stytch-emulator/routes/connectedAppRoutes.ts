import {
  CONNECTED_APP_DEFAULTS,
  CONNECTED_APP_TYPES,
  type ConnectedAppSettings,
  type ConnectedAppType,
  connectedAppJson,
} from '../connectedAppStore.js';
import { apiErrors } from '../errors.js';
import { type ApiResponse, type JsonObject, ok, parseJsonObject } from '../http.js';
import { parsePaging } from '../search.js';
import { optionalBoolean, optionalInteger, optionalString, optionalStringArray } from '../validate.js';
import { pattern, type RouteContext, type RouteDefinition } from './types.js';

/** The eight Connected Apps management routes (§9 of stytch-api.md), all behind project Basic auth. */
export const connectedAppRoutes: readonly RouteDefinition[] = [
  route('connectedApps.clients.create', 'POST', '/v1/connected_apps/clients', create),
  route('connectedApps.clients.search', 'POST', '/v1/connected_apps/clients/search', search),
  route('connectedApps.clients.get', 'GET', '/v1/connected_apps/clients/:client_id', get),
  route('connectedApps.clients.update', 'PUT', '/v1/connected_apps/clients/:client_id', update),
  route('connectedApps.clients.delete', 'DELETE', '/v1/connected_apps/clients/:client_id', remove),
  route(
    'connectedApps.secrets.rotateStart',
    'POST',
    '/v1/connected_apps/clients/:client_id/secrets/rotate/start',
    rotateStart,
  ),
  route(
    'connectedApps.secrets.rotate',
    'POST',
    '/v1/connected_apps/clients/:client_id/secrets/rotate',
    rotateComplete,
  ),
  route(
    'connectedApps.secrets.rotateCancel',
    'POST',
    '/v1/connected_apps/clients/:client_id/secrets/rotate/cancel',
    rotateCancel,
  ),
];

function route(
  id: RouteDefinition['id'],
  method: RouteDefinition['method'],
  path: string,
  handler: RouteDefinition['handler'],
): RouteDefinition {
  return { id, method, pattern: pattern(path), auth: 'project', errorShape: 'standard', handler };
}

function create(context: RouteContext): ApiResponse {
  const body = parseJsonObject(context.request.body);
  const clientType = readClientType(body);
  const settings = readSettings(body, CONNECTED_APP_DEFAULTS, clientType);
  const { record, secret } = context.services.connectedApps.create(clientType, settings);
  context.noteClient(record.clientId);
  const json = connectedAppJson(record, 'withSecret');
  return ok(context.requestId, {
    connected_app: secret === undefined ? json : { ...json, client_secret: secret },
  });
}

function get(context: RouteContext): ApiResponse {
  const record = context.services.connectedApps.get(clientIdParam(context));
  return ok(context.requestId, { connected_app: connectedAppJson(record) });
}

function search(context: RouteContext): ApiResponse {
  // Connected Apps search has no query filters yet ("Specific filters coming soon").
  const { cursor, limit } = parsePaging(parseJsonObject(context.request.body));
  const page = context.services.connectedApps.search(cursor, limit);
  return ok(context.requestId, {
    connected_apps: page.items.map((record) => connectedAppJson(record)),
    results_metadata: { total: page.total, next_cursor: page.nextCursor },
  });
}

function update(context: RouteContext): ApiResponse {
  const clientId = clientIdParam(context);
  const body = parseJsonObject(context.request.body);
  const current = context.services.connectedApps.get(clientId);
  // "Cannot update Client Type, Client ID, or Secrets": a client_type in the body is ignored.
  const settings = readSettings(body, current, current.clientType);
  const record = context.services.connectedApps.update(clientId, settings);
  return ok(context.requestId, { connected_app: connectedAppJson(record) });
}

function remove(context: RouteContext): ApiResponse {
  const clientId = clientIdParam(context);
  context.services.connectedApps.delete(clientId);
  return ok(context.requestId, { client_id: clientId });
}

function rotateStart(context: RouteContext): ApiResponse {
  const { record, nextSecret } = context.services.connectedApps.startRotation(clientIdParam(context));
  return ok(context.requestId, {
    connected_app: { ...connectedAppJson(record, 'withSecret'), next_client_secret: nextSecret },
  });
}

function rotateComplete(context: RouteContext): ApiResponse {
  const record = context.services.connectedApps.completeRotation(clientIdParam(context));
  return ok(context.requestId, { connected_app: connectedAppJson(record) });
}

function rotateCancel(context: RouteContext): ApiResponse {
  const record = context.services.connectedApps.cancelRotation(clientIdParam(context));
  return ok(context.requestId, { connected_app: connectedAppJson(record) });
}

function clientIdParam(context: RouteContext): string {
  const clientId = context.params.client_id;
  if (clientId === undefined) throw apiErrors.routeNotFound();
  return clientId;
}

function readClientType(body: JsonObject): ConnectedAppType {
  const value = body.client_type;
  const type = CONNECTED_APP_TYPES.find((candidate) => candidate === value);
  if (type === undefined) {
    throw apiErrors.validation(
      'invalid_connected_app_type',
      `client_type must be one of ${CONNECTED_APP_TYPES.join(', ')}.`,
    );
  }
  return type;
}

/** Reads the settable fields over `base` (defaults on create, the current app on update), validated. */
function readSettings(
  body: JsonObject,
  base: ConnectedAppSettings,
  clientType: ConnectedAppType,
): ConnectedAppSettings {
  const invalid = (field: string, expected: string) => () =>
    apiErrors.invalidValue(`${field} must be ${expected}.`);
  const redirectUrls = optionalStringArray(
    body,
    'redirect_urls',
    invalid('redirect_urls', 'an array of strings'),
  );
  const postLogout = optionalStringArray(
    body,
    'post_logout_redirect_urls',
    invalid('post_logout_redirect_urls', 'an array of strings'),
  );
  for (const url of [...(redirectUrls ?? []), ...(postLogout ?? [])]) {
    if (!URL.canParse(url)) {
      throw apiErrors.validation(
        'connected_app_invalid_redirect_url',
        'Every redirect URL must be an absolute URL.',
      );
    }
  }
  const expiry = optionalInteger(
    body,
    'access_token_expiry_minutes',
    invalid('access_token_expiry_minutes', 'an integer'),
  );
  if (expiry !== undefined && expiry <= 0) {
    throw apiErrors.invalidValue('access_token_expiry_minutes must be a positive integer.');
  }
  const settings: ConnectedAppSettings = {
    clientName: optionalString(body, 'client_name', invalid('client_name', 'a string')) ?? base.clientName,
    clientDescription:
      optionalString(body, 'client_description', invalid('client_description', 'a string')) ??
      base.clientDescription,
    redirectUrls: redirectUrls ?? base.redirectUrls,
    fullAccessAllowed:
      optionalBoolean(body, 'full_access_allowed', invalid('full_access_allowed', 'a boolean')) ??
      base.fullAccessAllowed,
    accessTokenExpiryMinutes: expiry ?? base.accessTokenExpiryMinutes,
    accessTokenCustomAudience:
      optionalString(
        body,
        'access_token_custom_audience',
        invalid('access_token_custom_audience', 'a string'),
      ) ?? base.accessTokenCustomAudience,
    accessTokenTemplateContent:
      optionalString(
        body,
        'access_token_template_content',
        invalid('access_token_template_content', 'a string'),
      ) ?? base.accessTokenTemplateContent,
    postLogoutRedirectUrls: postLogout ?? base.postLogoutRedirectUrls,
    logoUrl: optionalString(body, 'logo_url', invalid('logo_url', 'a string')) ?? base.logoUrl,
    bypassConsentForOfflineAccess:
      optionalBoolean(
        body,
        'bypass_consent_for_offline_access',
        invalid('bypass_consent_for_offline_access', 'a boolean'),
      ) ?? base.bypassConsentForOfflineAccess,
    idTokenTemplateContent:
      optionalString(body, 'id_token_template_content', invalid('id_token_template_content', 'a string')) ??
      base.idTokenTemplateContent,
  };
  checkTemplate(settings.accessTokenTemplateContent);
  checkThirdPartyRules(settings, clientType);
  return settings;
}

/** "must be a valid JSON object" (an empty template means none). */
function checkTemplate(template: string): void {
  if (template === '') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(template);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw apiErrors.validation(
      'jwt_template_invalid_json',
      'access_token_template_content must be a JSON object.',
    );
  }
}

function checkThirdPartyRules(settings: ConnectedAppSettings, clientType: ConnectedAppType): void {
  const thirdParty = clientType === 'third_party' || clientType === 'third_party_public';
  if (!thirdParty) return;
  if (settings.fullAccessAllowed) {
    throw apiErrors.validation(
      'third_party_clients_cannot_use_full_access',
      'Third-party connected apps cannot use full access.',
    );
  }
  if (settings.bypassConsentForOfflineAccess) {
    throw apiErrors.validation(
      'third_party_clients_require_consent_for_offline_access',
      'Third-party connected apps require consent for offline access.',
    );
  }
}
