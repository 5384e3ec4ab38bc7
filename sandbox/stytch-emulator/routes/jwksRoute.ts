import { apiErrors } from '../errors.js';
import { type ApiResponse, ok } from '../http.js';
import { pattern, type RouteContext, type RouteDefinition } from './types.js';

/**
 * The project's JWKS, served without authentication (the SDK verifiers fetch it with no
 * Authorization header), at the consumer and the B2B path.
 */
export const jwksRoutes: readonly RouteDefinition[] = [
  {
    id: 'jwks',
    method: 'GET',
    pattern: pattern('/v1/sessions/jwks/:project_id'),
    auth: 'none',
    errorShape: 'standard',
    handler: jwks,
  },
  {
    id: 'jwks',
    method: 'GET',
    pattern: pattern('/v1/b2b/sessions/jwks/:project_id'),
    auth: 'none',
    errorShape: 'standard',
    handler: jwks,
  },
];

function jwks(context: RouteContext): ApiResponse {
  if (context.params.project_id !== context.services.projectId) throw apiErrors.projectNotFound();
  return ok(context.requestId, { keys: context.services.keys.jwks() });
}
