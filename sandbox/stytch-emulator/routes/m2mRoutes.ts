import { apiErrors } from '../errors.js';
import { type ApiResponse, type JsonObject, ok, parseJsonObject } from '../http.js';
import { type M2MClientStatus, m2mClientJson } from '../m2mStore.js';
import { checkMetadata } from '../metadata.js';
import { parseM2MQuery, parsePaging } from '../search.js';
import { optionalObject, optionalString, optionalStringArray } from '../validate.js';
import { pattern, type RouteContext, type RouteDefinition } from './types.js';

/** Custom client secrets must be at least this long (Stytch: "at least 8 characters long"). */
const MIN_CUSTOM_SECRET_LENGTH = 8;

/** The eight M2M management routes (§4 of stytch-api.md), all behind project Basic auth. */
export const m2mRoutes: readonly RouteDefinition[] = [
  route('m2m.clients.create', 'POST', '/v1/m2m/clients', create),
  route('m2m.clients.search', 'POST', '/v1/m2m/clients/search', search),
  route('m2m.clients.get', 'GET', '/v1/m2m/clients/:client_id', get),
  route('m2m.clients.update', 'PUT', '/v1/m2m/clients/:client_id', update),
  route('m2m.clients.delete', 'DELETE', '/v1/m2m/clients/:client_id', remove),
  route('m2m.secrets.rotateStart', 'POST', '/v1/m2m/clients/:client_id/secrets/rotate/start', rotateStart),
  route('m2m.secrets.rotate', 'POST', '/v1/m2m/clients/:client_id/secrets/rotate', rotateComplete),
  route('m2m.secrets.rotateCancel', 'POST', '/v1/m2m/clients/:client_id/secrets/rotate/cancel', rotateCancel),
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
  if (body.scopes === undefined || body.scopes === null) throw apiErrors.badRequest('scopes is required.');
  const scopes = readScopes(body);
  const clientId = optionalString(body, 'client_id', invalidClientId);
  if (clientId !== undefined && !/^[\x21-\x7e]{1,128}$/.test(clientId)) throw invalidClientId();
  const clientSecret = optionalString(body, 'client_secret', invalidClientSecret);
  if (clientSecret !== undefined && clientSecret.length < MIN_CUSTOM_SECRET_LENGTH)
    throw invalidClientSecret();
  const metadata = readMetadata(body);
  const { record, secret } = context.services.m2m.create({
    scopes: scopes ?? [],
    ...(clientId === undefined ? {} : { clientId }),
    ...(clientSecret === undefined ? {} : { clientSecret }),
    ...readNameAndDescription(body),
    ...(metadata === undefined ? {} : { trustedMetadata: checkMetadata(metadata) }),
  });
  context.noteClient(record.clientId);
  return ok(context.requestId, { m2m_client: { ...m2mClientJson(record), client_secret: secret } });
}

function get(context: RouteContext): ApiResponse {
  const record = context.services.m2m.get(clientIdParam(context));
  return ok(context.requestId, { m2m_client: m2mClientJson(record) });
}

function search(context: RouteContext): ApiResponse {
  const body = parseJsonObject(context.request.body);
  const { cursor, limit } = parsePaging(body);
  const filter = parseM2MQuery(body);
  const page = context.services.m2m.search(filter, cursor, limit);
  return ok(context.requestId, {
    m2m_clients: page.items.map(m2mClientJson),
    results_metadata: { total: page.total, next_cursor: page.nextCursor },
  });
}

function update(context: RouteContext): ApiResponse {
  const clientId = clientIdParam(context);
  const body = parseJsonObject(context.request.body);
  const status = readStatus(body);
  const scopes = readScopes(body);
  const metadata = readMetadata(body);
  const record = context.services.m2m.update(clientId, {
    ...readNameAndDescription(body),
    ...(status === undefined ? {} : { status }),
    ...(scopes === undefined ? {} : { scopes }),
    ...(metadata === undefined ? {} : { trustedMetadata: metadata }),
  });
  return ok(context.requestId, { m2m_client: m2mClientJson(record) });
}

function remove(context: RouteContext): ApiResponse {
  const clientId = clientIdParam(context);
  context.services.m2m.delete(clientId);
  return ok(context.requestId, { client_id: clientId });
}

function rotateStart(context: RouteContext): ApiResponse {
  const { record, nextSecret } = context.services.m2m.startRotation(clientIdParam(context));
  return ok(context.requestId, { m2m_client: { ...m2mClientJson(record), next_client_secret: nextSecret } });
}

function rotateComplete(context: RouteContext): ApiResponse {
  const record = context.services.m2m.completeRotation(clientIdParam(context));
  return ok(context.requestId, { m2m_client: m2mClientJson(record) });
}

function rotateCancel(context: RouteContext): ApiResponse {
  const record = context.services.m2m.cancelRotation(clientIdParam(context));
  return ok(context.requestId, { m2m_client: m2mClientJson(record) });
}

function clientIdParam(context: RouteContext): string {
  const clientId = context.params.client_id;
  if (clientId === undefined) throw apiErrors.routeNotFound();
  return clientId;
}

/** Scopes: strings without whitespace (tokens carry them space-joined), 1-100 characters each. */
function readScopes(body: JsonObject): readonly string[] | undefined {
  const scopes = optionalStringArray(body, 'scopes', invalidScope);
  if (scopes?.some((scope) => !/^\S{1,100}$/.test(scope))) throw invalidScope();
  return scopes;
}

function readStatus(body: JsonObject): M2MClientStatus | undefined {
  const status = optionalString(body, 'status', invalidStatus);
  if (status === undefined) return undefined;
  if (status !== 'active' && status !== 'inactive') throw invalidStatus();
  return status;
}

function readNameAndDescription(body: JsonObject): { clientName?: string; clientDescription?: string } {
  const clientName = optionalString(body, 'client_name', () =>
    apiErrors.validation('m2m_client_invalid_client_name', 'client_name must be a string.'),
  );
  const clientDescription = optionalString(body, 'client_description', () =>
    apiErrors.validation('m2m_client_invalid_client_description', 'client_description must be a string.'),
  );
  return {
    ...(clientName === undefined ? {} : { clientName }),
    ...(clientDescription === undefined ? {} : { clientDescription }),
  };
}

function readMetadata(body: JsonObject): JsonObject | undefined {
  return optionalObject(body, 'trusted_metadata', () =>
    apiErrors.validation('metadata_invalid_format', 'trusted_metadata must be a JSON object.'),
  );
}

function invalidScope() {
  return apiErrors.validation(
    'invalid_m2m_client_scope',
    'scopes must be an array of strings of 1 to 100 characters without whitespace.',
  );
}

function invalidStatus() {
  return apiErrors.validation('invalid_m2m_client_status', 'status must be "active" or "inactive".');
}

function invalidClientId() {
  return apiErrors.validation(
    'm2m_client_invalid_client_id',
    'client_id must be 1 to 128 printable characters without whitespace.',
  );
}

function invalidClientSecret() {
  return apiErrors.validation(
    'm2m_client_invalid_client_secret',
    `client_secret must be a string of at least ${MIN_CUSTOM_SECRET_LENGTH} characters.`,
  );
}
