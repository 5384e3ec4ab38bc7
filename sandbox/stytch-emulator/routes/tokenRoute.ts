import { type ApiError, oauthErrors } from '../errors.js';
import { type ApiResponse, type EmulatorRequest, isJsonObject, mediaType, parseBasicAuth } from '../http.js';
import { pattern, type RouteContext, type RouteDefinition } from './types.js';

/** Access tokens live one hour ("valid for one hour after issuance"). */
export const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;

/** `POST /v1/public/{project_id}/oauth2/token`: the client-credentials grant (§5). */
export const tokenRoute: RouteDefinition = {
  id: 'oauth2.token',
  method: 'POST',
  pattern: pattern('/v1/public/:project_id/oauth2/token'),
  auth: 'none',
  errorShape: 'oauth',
  handler: token,
};

async function token(context: RouteContext): Promise<ApiResponse> {
  const { services } = context;
  const fields = readFields(context.request);
  const grantType = fields.get('grant_type');
  if (grantType === undefined || grantType === '')
    throw oauthErrors.invalidRequest('grant_type is required.');
  if (grantType !== 'client_credentials') throw oauthErrors.unsupportedGrantType();

  // Every client-authentication failure gets the one refusal the modes configure (default 400 invalid_client).
  const refused = () => services.modes.tokenRefusalError();
  const credentials = readClientCredentials(fields, context.request, services.projectId, refused);
  context.noteClient(credentials.clientId);
  // A token for another project's path cannot be issued here; answered like any failed client authentication.
  if (context.params.project_id !== services.projectId) throw refused();
  const client = services.m2m.find(credentials.clientId);
  // Verify even for an unknown or inactive client, so the answer takes the same time either way.
  // The token endpoint judges with its own clock: a rotation may not have reached it yet.
  const secretMatches = client?.credential.verify(credentials.clientSecret, services.now()) ?? false;
  if (client === undefined || client.status !== 'active' || !secretMatches) throw refused();

  const scopes = grantedScopes(fields.get('scope'), client.scopes);
  const iat = Math.floor(services.now() / 1000);
  const accessToken = await services.keys.sign({
    sub: client.clientId,
    iss: `stytch.com/${services.projectId}`,
    aud: [services.projectId],
    scope: scopes.join(' '),
    iat,
    nbf: iat,
    exp: iat + ACCESS_TOKEN_LIFETIME_SECONDS,
  });
  return {
    status: 200,
    // RFC 6749 §5.1: token responses must not be cached.
    headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
    body: {
      request_id: context.requestId,
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      status_code: 200,
    },
  };
}

/**
 * The body's fields, from a form or a JSON body (Stytch accepts both). Without a recognised
 * content type the body is read as JSON when it looks like an object, else as a form.
 */
function readFields(request: EmulatorRequest): Map<string, string> {
  const text = request.body.toString('utf8');
  const type = mediaType(request.headers);
  const asJson =
    type === 'application/json' ||
    (type !== 'application/x-www-form-urlencoded' && text.trim().startsWith('{'));
  if (!asJson) return new Map(new URLSearchParams(text));
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw oauthErrors.invalidRequest('The request body is not valid JSON.');
  }
  if (!isJsonObject(parsed)) throw oauthErrors.invalidRequest('The request body must be a JSON object.');
  const fields = new Map<string, string>();
  for (const [key, value] of Object.entries(parsed)) {
    if (value === undefined || value === null) continue;
    // Extra parameters feed custom-claims templates, which the emulator has none of: ignored.
    if (typeof value !== 'string') {
      if (['grant_type', 'client_id', 'client_secret', 'scope'].includes(key)) {
        throw oauthErrors.invalidRequest(`${key} must be a string.`);
      }
      continue;
    }
    fields.set(key, value);
  }
  return fields;
}

/**
 * The client's credentials: from the body first, else from a Basic header. A Basic header whose user
 * is the project_id carries the project's credentials (the Python SDK always sends them) and is
 * ignored. Per RFC 6749 §2.3.1 the Basic user and password are form-encoded.
 */
function readClientCredentials(
  fields: ReadonlyMap<string, string>,
  request: EmulatorRequest,
  projectId: string,
  refused: () => ApiError,
): { clientId: string; clientSecret: string } {
  const bodyId = fields.get('client_id');
  const bodySecret = fields.get('client_secret');
  if (bodyId !== undefined || bodySecret !== undefined) {
    if (bodyId === undefined || bodyId === '') throw oauthErrors.invalidRequest('client_id is required.');
    if (bodySecret === undefined || bodySecret === '')
      throw oauthErrors.invalidRequest('client_secret is required.');
    return { clientId: bodyId, clientSecret: bodySecret };
  }
  const basic = parseBasicAuth(request.headers);
  if (basic === null || basic.user === projectId) throw refused();
  return { clientId: formDecode(basic.user), clientSecret: formDecode(basic.password) };
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return value;
  }
}

/**
 * The scopes of the token: all of the client's when `scope` is omitted or empty, else exactly the
 * requested ones, each of which the client must hold verbatim (no wildcard expansion).
 */
function grantedScopes(requested: string | undefined, clientScopes: readonly string[]): readonly string[] {
  const wanted = [...new Set((requested ?? '').split(' ').filter((scope) => scope !== ''))];
  if (wanted.length === 0) return clientScopes;
  if (!wanted.every((scope) => clientScopes.includes(scope))) throw oauthErrors.invalidScope();
  return wanted;
}
