/**
 * Every Stytch route the emulator serves, by a stable id. Faults and the request log refer to
 * routes by these ids, never by path, so a fault set for `m2m.clients.get` covers every client id.
 */
export const ROUTE_IDS = [
  'm2m.clients.create',
  'm2m.clients.get',
  'm2m.clients.search',
  'm2m.clients.update',
  'm2m.clients.delete',
  'm2m.secrets.rotateStart',
  'm2m.secrets.rotate',
  'm2m.secrets.rotateCancel',
  'connectedApps.clients.create',
  'connectedApps.clients.get',
  'connectedApps.clients.search',
  'connectedApps.clients.update',
  'connectedApps.clients.delete',
  'connectedApps.secrets.rotateStart',
  'connectedApps.secrets.rotate',
  'connectedApps.secrets.rotateCancel',
  'oauth2.token',
  'jwks',
] as const;

/** One Stytch route served by the emulator. */
export type RouteId = (typeof ROUTE_IDS)[number];

/** A route id, or `*` for every route. Used wherever a fault is aimed at routes. */
export type RouteSelector = RouteId | '*';

/** Every value a {@link RouteSelector} can take, for validating admin API input. */
export const ROUTE_SELECTORS: readonly RouteSelector[] = [...ROUTE_IDS, '*'];

/** Whether `value` is a known {@link RouteSelector}. */
export function isRouteSelector(value: unknown): value is RouteSelector {
  return typeof value === 'string' && (ROUTE_SELECTORS as readonly string[]).includes(value);
}

/** Whether a fault aimed at `selector` applies to a request for `route`. */
export function selectorMatches(selector: RouteSelector, route: RouteId): boolean {
  return selector === '*' || selector === route;
}
