import { apiErrors } from './errors.js';
import { decodePathSegment } from './http.js';

/** What the router needs of a route: its method and path pattern (`:name` segments capture). */
export interface Routable {
  readonly method: string;
  readonly pattern: readonly string[];
}

/** A request matched to a route, with its decoded path parameters. */
export interface RouteMatch<R extends Routable> {
  readonly route: R;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Finds the route for `method` and `path`. Literal segments win over parameters (so
 * `POST /v1/m2m/clients/search` is search, not a client called "search"). A path that exists with
 * another method is a 405 `method_not_allowed`; an unknown path a 404 `route_not_found`.
 */
export function matchRoute<R extends Routable>(
  routes: readonly R[],
  method: string,
  path: string,
): RouteMatch<R> {
  const segments = path.split('/').slice(1);
  let best: { route: R; literals: number } | null = null;
  let pathExists = false;
  for (const route of routes) {
    const literals = matchPattern(route.pattern, segments);
    if (literals === null) continue;
    pathExists = true;
    if (route.method !== method) continue;
    if (best === null || literals > best.literals) best = { route, literals };
  }
  if (best === null) throw pathExists ? apiErrors.methodNotAllowed() : apiErrors.routeNotFound();
  return { route: best.route, params: extractParams(best.route.pattern, segments) };
}

/** The number of literal segments matched, or null when the path does not fit the pattern. */
function matchPattern(pattern: readonly string[], segments: readonly string[]): number | null {
  if (pattern.length !== segments.length) return null;
  let literals = 0;
  for (const [index, part] of pattern.entries()) {
    const segment = segments[index] ?? '';
    if (part.startsWith(':')) {
      if (segment === '') return null;
    } else if (part === segment) {
      literals += 1;
    } else {
      return null;
    }
  }
  return literals;
}

function extractParams(pattern: readonly string[], segments: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [index, part] of pattern.entries()) {
    if (part.startsWith(':')) params[part.slice(1)] = decodePathSegment(segments[index] ?? '');
  }
  return params;
}
