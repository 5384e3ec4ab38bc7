import { describe, expect, it } from 'vitest';
import { ApiError } from '#sandbox/stytch-emulator/errors.js';
import { matchRoute } from '#sandbox/stytch-emulator/router.js';
import { stytchRoutes } from '#sandbox/stytch-emulator/routes/index.js';

function statusOf(act: () => unknown): number | undefined {
  try {
    act();
  } catch (error) {
    if (error instanceof ApiError) return error.status;
  }
  return undefined;
}

describe('Function: matchRoute', () => {
  it.each([
    ['POST', '/v1/m2m/clients', 'm2m.clients.create'],
    ['POST', '/v1/m2m/clients/search', 'm2m.clients.search'],
    ['GET', '/v1/m2m/clients/abc', 'm2m.clients.get'],
    ['PUT', '/v1/m2m/clients/abc', 'm2m.clients.update'],
    ['DELETE', '/v1/m2m/clients/abc', 'm2m.clients.delete'],
    ['POST', '/v1/m2m/clients/abc/secrets/rotate/start', 'm2m.secrets.rotateStart'],
    ['POST', '/v1/m2m/clients/abc/secrets/rotate', 'm2m.secrets.rotate'],
    ['POST', '/v1/m2m/clients/abc/secrets/rotate/cancel', 'm2m.secrets.rotateCancel'],
    ['POST', '/v1/connected_apps/clients/search', 'connectedApps.clients.search'],
    ['POST', '/v1/connected_apps/clients/abc/secrets/rotate/start', 'connectedApps.secrets.rotateStart'],
    ['POST', '/v1/public/project-test-1/oauth2/token', 'oauth2.token'],
    ['GET', '/v1/sessions/jwks/project-test-1', 'jwks'],
    ['GET', '/v1/b2b/sessions/jwks/project-test-1', 'jwks'],
  ])('routes %s %s to %s', (method, path, id) => {
    // Assess
    expect(matchRoute(stytchRoutes, method, path).route.id).toBe(id);
  });

  it('decodes path parameters', () => {
    // Act
    const { params } = matchRoute(stytchRoutes, 'GET', '/v1/m2m/clients/a%2Fb%20c');

    // Assess
    expect(params).toEqual({ client_id: 'a/b c' });
  });

  it('answers 405 for a known path with another method and 404 for an unknown path', () => {
    // Assess
    expect(statusOf(() => matchRoute(stytchRoutes, 'PATCH', '/v1/m2m/clients/abc'))).toBe(405);
    expect(statusOf(() => matchRoute(stytchRoutes, 'GET', '/v1/m2m/clients'))).toBe(405);
    expect(statusOf(() => matchRoute(stytchRoutes, 'GET', '/v1/m2m/nothing/here'))).toBe(404);
    expect(statusOf(() => matchRoute(stytchRoutes, 'GET', '/v1/m2m/clients/'))).toBe(404);
  });
});
