import { apiErrors, StytchEmulatorError } from './errors.js';
import { type FaultInjector, isRouteFaultStatus, ROUTE_FAULT_STATUSES } from './faults.js';
import { type ApiResponse, type EmulatorRequest, type JsonObject, ok, parseJsonObject } from './http.js';
import { type EmulatorModeSettings, type EmulatorModes, MODE_KEYS } from './modes.js';
import type { LoggedRequest } from './requestLog.js';
import { isRouteSelector, type RouteSelector } from './routeIds.js';
import { matchRoute } from './router.js';
import { optionalBoolean, optionalInteger, optionalNumber, optionalString } from './validate.js';

/** Every admin path starts with this; it cannot clash with a Stytch route. */
export const ADMIN_PREFIX = '/__emulator';

/** What the admin API controls: the emulator's test-facing surface. */
export interface AdminTarget {
  readonly projectId: string;
  readonly faults: FaultInjector;
  readonly modes: EmulatorModes;
  requestLog(): readonly LoggedRequest[];
  clearRequestLog(): void;
  rotateSigningKey(options?: { retirePrevious?: boolean }): { kid: string };
}

interface AdminContext {
  readonly target: AdminTarget;
  readonly body: JsonObject;
  readonly params: Readonly<Record<string, string>>;
  readonly requestId: string;
}

interface AdminRoute {
  readonly method: string;
  readonly pattern: readonly string[];
  readonly handler: (context: AdminContext) => Readonly<Record<string, unknown>>;
}

const routes: readonly AdminRoute[] = [
  admin('GET', '/health', ({ target }) => ({ status: 'ok', project_id: target.projectId })),
  admin('GET', '/faults', ({ target }) => ({ faults: target.faults.snapshot() })),
  admin('DELETE', '/faults', ({ target }) => {
    target.faults.clear();
    return { faults: target.faults.snapshot() };
  }),
  admin('PUT', '/faults/routes/:route', ({ target, body, params }) => {
    const status = optionalInteger(body, 'status', invalid('status', 'an integer'));
    if (status !== undefined && !isRouteFaultStatus(status)) {
      throw apiErrors.badRequest(`status must be one of ${ROUTE_FAULT_STATUSES.join(', ')}.`);
    }
    const errorRate = optionalNumber(body, 'errorRate', invalid('errorRate', 'a number'));
    const latencyMs = optionalNumber(body, 'latencyMs', invalid('latencyMs', 'a number'));
    target.faults.setRouteFault(routeParam(params), {
      ...(errorRate === undefined ? {} : { errorRate }),
      ...(status === undefined ? {} : { status }),
      ...(latencyMs === undefined ? {} : { latencyMs }),
    });
    return { faults: target.faults.snapshot() };
  }),
  admin('DELETE', '/faults/routes/:route', ({ target, params }) => {
    target.faults.setRouteFault(routeParam(params), null);
    return { faults: target.faults.snapshot() };
  }),
  admin('PUT', '/faults/rate-limit', ({ target, body }) => {
    const requestsPerSecond = optionalNumber(
      body,
      'requestsPerSecond',
      invalid('requestsPerSecond', 'a number'),
    );
    if (requestsPerSecond === undefined) throw apiErrors.badRequest('requestsPerSecond is required.');
    const burst = optionalInteger(body, 'burst', invalid('burst', 'an integer'));
    const retryAfterSeconds = optionalInteger(
      body,
      'retryAfterSeconds',
      invalid('retryAfterSeconds', 'an integer'),
    );
    target.faults.setRateLimit({
      requestsPerSecond,
      ...(burst === undefined ? {} : { burst }),
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
    return { faults: target.faults.snapshot() };
  }),
  admin('DELETE', '/faults/rate-limit', ({ target }) => {
    target.faults.setRateLimit(null);
    return { faults: target.faults.snapshot() };
  }),
  admin('POST', '/faults/fail-next', ({ target, body }) => {
    const status = optionalInteger(body, 'status', invalid('status', 'an integer'));
    const count = optionalInteger(body, 'count', invalid('count', 'an integer'));
    const errorType = optionalString(body, 'errorType', invalid('errorType', 'a string'));
    target.faults.failNext(routeField(body), {
      ...(status === undefined ? {} : { status }),
      ...(count === undefined ? {} : { count }),
      ...(errorType === undefined ? {} : { errorType }),
    });
    return { faults: target.faults.snapshot() };
  }),
  admin('POST', '/faults/drop-response-next', ({ target, body }) => {
    const count = optionalInteger(body, 'count', invalid('count', 'an integer'));
    target.faults.dropResponseNext(routeField(body), count === undefined ? {} : { count });
    return { faults: target.faults.snapshot() };
  }),
  admin('POST', '/faults/delay-next', ({ target, body }) => {
    const ms = optionalNumber(body, 'ms', invalid('ms', 'a number'));
    if (ms === undefined) throw apiErrors.badRequest('ms is required.');
    const count = optionalInteger(body, 'count', invalid('count', 'an integer'));
    target.faults.delayNext(routeField(body), { ms, ...(count === undefined ? {} : { count }) });
    return { faults: target.faults.snapshot() };
  }),
  admin('GET', '/modes', ({ target }) => ({ modes: target.modes.snapshot() })),
  admin('PUT', '/modes', ({ target, body }) => {
    // Validated field by field by EmulatorModes.set, which names the field it refuses.
    target.modes.set(modeSettings(body));
    return { modes: target.modes.snapshot() };
  }),
  admin('DELETE', '/modes', ({ target }) => {
    target.modes.reset();
    return { modes: target.modes.snapshot() };
  }),
  admin('GET', '/requests', ({ target }) => ({ requests: target.requestLog() })),
  admin('DELETE', '/requests', ({ target }) => {
    target.clearRequestLog();
    return { requests: [] };
  }),
  admin('POST', '/signing-keys/rotate', ({ target, body }) => {
    const retirePrevious = optionalBoolean(body, 'retirePrevious', invalid('retirePrevious', 'a boolean'));
    return target.rotateSigningKey(retirePrevious === undefined ? {} : { retirePrevious });
  }),
];

function admin(method: string, path: string, handler: AdminRoute['handler']): AdminRoute {
  return { method, pattern: `${ADMIN_PREFIX}${path}`.split('/').slice(1), handler };
}

/**
 * Answers one admin request (already authenticated by the caller). Invalid settings are a 400
 * `bad_request` carrying the injector's message, in Stytch's error shape like everything else.
 */
export function handleAdmin(target: AdminTarget, request: EmulatorRequest, requestId: string): ApiResponse {
  const { route, params } = matchRoute(routes, request.method, request.path);
  const body = request.method === 'GET' ? {} : parseJsonObject(request.body);
  try {
    return ok(requestId, route.handler({ target, body, params, requestId }));
  } catch (error) {
    if (error instanceof StytchEmulatorError) throw apiErrors.badRequest(error.message);
    throw error;
  }
}

/** The body as mode settings: only the known keys, each checked by {@link EmulatorModes.set}. */
function modeSettings(body: JsonObject): EmulatorModeSettings {
  const unknown = Object.keys(body).filter((key) => !(MODE_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0)
    throw apiErrors.badRequest(`unknown mode "${unknown[0]}" (one of ${MODE_KEYS.join(', ')}).`);
  return body as EmulatorModeSettings;
}

function routeParam(params: Readonly<Record<string, string>>): RouteSelector {
  return checkedRoute(params.route);
}

function routeField(body: JsonObject): RouteSelector {
  return checkedRoute(body.route);
}

function checkedRoute(value: unknown): RouteSelector {
  if (!isRouteSelector(value)) throw apiErrors.badRequest('route must be a route id (see ROUTE_IDS) or "*".');
  return value;
}

function invalid(field: string, expected: string) {
  return () => apiErrors.badRequest(`${field} must be ${expected}.`);
}
