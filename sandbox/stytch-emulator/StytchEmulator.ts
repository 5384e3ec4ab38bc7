import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_PREFIX, handleAdmin } from './adminRoutes.js';
import { ConnectedAppStore } from './connectedAppStore.js';
import { ApiError, apiErrors, type ErrorShape, StytchEmulatorError } from './errors.js';
import { FaultInjector, type FaultKind } from './faults.js';
import { type ApiResponse, type EmulatorRequest, parseBasicAuth, readBody } from './http.js';
import { environmentOf, type IdGenerator, idGenerator } from './ids.js';
import { M2MClientStore } from './m2mStore.js';
import { type EmulatorModeSettings, EmulatorModes } from './modes.js';
import { type LoggedRequest, RequestLog } from './requestLog.js';
import type { RouteId } from './routeIds.js';
import { matchRoute } from './router.js';
import { type EmulatorServices, stytchRoutes } from './routes/index.js';
import { SigningKeyRing } from './signingKeys.js';

/** What one request's handling learned, for its request-log entry and its error shape. */
interface Trace {
  route: RouteId | null;
  shape: ErrorShape;
  clientId?: string;
  fault?: FaultKind;
}

/** An answer to send, or `drop`: reset the connection without one. */
type Outcome = { readonly response: ApiResponse } | 'drop';

/** Options of {@link StytchEmulator.start}. */
export interface StytchEmulatorOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 - a free port */
  readonly port?: number;
  /** Must start with `project-test-` or `project-live-`. @default - `project-test-<uuid v4>` */
  readonly projectId?: string;
  /** @default - `secret-test-<random base64url>` */
  readonly projectSecret?: string;
  /** Seeds the PRNG of random faults (error rates). @default 1 */
  readonly seed?: number;
  /**
   * The clock in ms: token iat/exp, rate-limit buckets and windows, consistency delays, request
   * log times. @default Date.now
   */
  readonly now?: () => number;
  /**
   * Behaviour modes from the start (see {@link EmulatorModes}): a fixed-window rate limit,
   * delayed consistency at the token endpoint, another OAuth refusal. Changeable later through
   * `emulator.modes` or the admin API. @default - the emulator's original behaviour
   */
  readonly modes?: EmulatorModeSettings;
  /**
   * Receives the emulator's own log lines (only unexpected internal errors; never a secret).
   * @default - silent
   */
  readonly logger?: (line: string) => void;
}

interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly projectId: string;
  readonly projectSecret: string;
  readonly seed: number;
  readonly now: () => number;
  readonly logger: (line: string) => void;
  readonly modes: EmulatorModes;
}

/**
 * A faithful, deterministic, in-process emulation of Stytch's M2M and Connected Apps client APIs,
 * the client-credentials token endpoint and the JWKS, over real HTTP on loopback, with fault
 * injection for resilience tests. The official SDKs work against it unmodified (pass
 * `url + '/'` as their environment).
 *
 * @example
 * const emulator = await StytchEmulator.start();
 * const client = new stytch.Client({ project_id: emulator.projectId, secret: emulator.projectSecret, env: `${emulator.url}/` });
 * emulator.faults.failNext('m2m.secrets.rotateStart', { status: 503 });
 * await emulator.stop();
 */
export class StytchEmulator {
  /** `http://HOST:PORT`, no trailing slash. */
  public readonly url: string;
  public readonly projectId: string;
  public readonly projectSecret: string;
  public readonly faults: FaultInjector;
  /** Behaviour modes; unlike faults, `faults.clear()` leaves them as they are. */
  public readonly modes: EmulatorModes;

  readonly #server: Server;
  readonly #log = new RequestLog();
  readonly #keys: SigningKeyRing;
  readonly #ids: IdGenerator;
  readonly #services: EmulatorServices;
  readonly #now: () => number;
  readonly #logger: (line: string) => void;
  readonly #projectSecretDigest: Buffer;
  /** Aborted by stop(): ends every pending latency or delay at once. */
  readonly #shutdown = new AbortController();
  #stopping: Promise<void> | null = null;

  private constructor(server: Server, url: string, options: ResolvedOptions) {
    this.#server = server;
    this.url = url;
    this.projectId = options.projectId;
    this.projectSecret = options.projectSecret;
    this.#projectSecretDigest = digest(options.projectSecret);
    this.#now = options.now;
    this.#logger = options.logger;
    this.#ids = idGenerator(environmentOf(options.projectId));
    this.#keys = new SigningKeyRing(() => this.#ids.signingKeyId());
    this.faults = new FaultInjector({ seed: options.seed, now: options.now });
    this.modes = options.modes;
    this.#services = {
      projectId: options.projectId,
      m2m: new M2MClientStore(this.#ids, {
        now: options.now,
        delay: () => this.modes.consistencyDelay,
      }),
      connectedApps: new ConnectedAppStore(this.#ids),
      keys: this.#keys,
      modes: this.modes,
      now: options.now,
    };
  }

  /** Starts an emulator listening on `host:port`; rejects with {@link StytchEmulatorError} (e.g. `port_in_use`). */
  public static async start(options: StytchEmulatorOptions = {}): Promise<StytchEmulator> {
    const resolved = resolveOptions(options);
    const server = createServer();
    await listen(server, resolved.host, resolved.port);
    const { port } = server.address() as AddressInfo;
    const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
    const emulator = new StytchEmulator(server, `http://${host}:${port}`, resolved);
    server.on('request', (request, response) => {
      void emulator.#handle(request, response);
    });
    return emulator;
  }

  /** Every request so far (admin requests excluded), oldest first. Holds no bodies, header values or secrets. */
  public requestLog(): readonly LoggedRequest[] {
    return this.#log.entries();
  }

  public clearRequestLog(): void {
    this.#log.clear();
  }

  /** A new key signs from now on; older keys stay in the JWKS unless `retirePrevious`. */
  public rotateSigningKey(options: { retirePrevious?: boolean } = {}): { kid: string } {
    return this.#keys.rotate(options);
  }

  /** Closes the server and every open socket; pending delays end at once. Idempotent. */
  public stop(): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      this.#shutdown.abort();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#stopping;
  }

  async #handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const started = performance.now();
    const seq = this.#log.nextSeq();
    const at = new Date(this.#now()).toISOString();
    const requestId = this.#ids.requestId();
    const url = new URL(incoming.url ?? '/', 'http://emulator');
    const method = incoming.method ?? 'GET';
    const isAdmin = url.pathname === ADMIN_PREFIX || url.pathname.startsWith(`${ADMIN_PREFIX}/`);
    const trace: Trace = { route: null, shape: 'standard' };

    let outcome: Outcome;
    try {
      const request: EmulatorRequest = {
        method,
        path: url.pathname,
        query: url.searchParams,
        headers: incoming.headers,
        body: await readBody(incoming),
      };
      outcome = isAdmin
        ? { response: this.#serveAdmin(request, requestId) }
        : await this.#serveStytch(request, requestId, trace);
    } catch (error) {
      outcome = { response: this.#errorResponse(error, trace.shape, requestId, method, url.pathname) };
    }

    if (outcome === 'drop') {
      // The change is committed; the caller never learns it (a connection reset, no status).
      incoming.socket.resetAndDestroy();
    } else {
      send(outgoing, outcome.response);
    }
    // The admin API is the test harness's, not Stytch's: it is not logged.
    if (isAdmin) return;
    const status = outcome === 'drop' ? 0 : outcome.response.status;
    const errorType = outcome === 'drop' ? undefined : errorTypeOf(outcome.response);
    this.#log.append({
      seq,
      at,
      method,
      path: url.pathname,
      route: trace.route,
      status,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      ...(errorType === undefined ? {} : { errorType }),
      ...(trace.fault === undefined ? {} : { fault: trace.fault }),
      ...(trace.clientId === undefined ? {} : { clientId: trace.clientId }),
    });
  }

  /** One Stytch request: route, faults, auth, handler. Handler errors become answers here too. */
  async #serveStytch(request: EmulatorRequest, requestId: string, trace: Trace): Promise<Outcome> {
    const { route, params } = matchRoute(stytchRoutes, request.method, request.path);
    trace.route = route.id;
    trace.shape = route.errorShape;
    if (params.client_id !== undefined) trace.clientId = params.client_id;

    // The fixed-window limit sees every request first, as Stytch's would; a request it refuses
    // spends no one-shot fault and draws nothing from the PRNG.
    const throttled = this.modes.admit(route.id);
    if (throttled !== null) {
      trace.fault = 'rate_limited';
      throw throttled;
    }
    const plan = this.faults.plan(route.id);
    if (plan.latencyMs > 0) {
      trace.fault = 'latency';
      await this.#sleep(plan.latencyMs);
    }
    if (plan.reject !== null) {
      trace.fault = plan.reject.kind;
      throw plan.reject.error;
    }

    let response: ApiResponse;
    try {
      if (route.auth === 'project' && !this.#isProject(request.headers)) throw apiErrors.unauthorized();
      response = await route.handler({
        request,
        params,
        requestId,
        services: this.#services,
        noteClient: (clientId) => {
          trace.clientId = clientId;
        },
      });
    } catch (error) {
      response = this.#errorResponse(error, trace.shape, requestId, request.method, request.path);
    }
    // Drops and delays come after the handler: whatever it changed is committed either way.
    if (plan.drop) {
      trace.fault = 'dropped';
      return 'drop';
    }
    if (plan.delayMs > 0) {
      trace.fault = 'delayed';
      await this.#sleep(plan.delayMs);
    }
    return { response };
  }

  /** One admin request: project auth, then the admin API; never faulted. */
  #serveAdmin(request: EmulatorRequest, requestId: string): ApiResponse {
    try {
      if (!this.#isProject(request.headers)) throw apiErrors.unauthorized();
      return handleAdmin(this, request, requestId);
    } catch (error) {
      return this.#errorResponse(error, 'standard', requestId, request.method, request.path);
    }
  }

  #errorResponse(
    error: unknown,
    shape: ErrorShape,
    requestId: string,
    method: string,
    path: string,
  ): ApiResponse {
    let apiError: ApiError;
    if (error instanceof ApiError) {
      apiError = error;
    } else {
      // Our own messages never carry secrets; still, log only the error's name and message.
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : 'a non-Error value';
      this.#logger(`stytch-emulator: internal error on ${method} ${path}: ${detail}`);
      apiError = apiErrors.internal();
    }
    const shaped = apiError.shape === shape ? apiError : apiError.withShape(shape);
    return { status: shaped.status, body: shaped.toBody(requestId), headers: shaped.headers };
  }

  /** Basic `project_id:secret`, the secret compared in constant time. */
  #isProject(headers: IncomingHttpHeaders): boolean {
    const basic = parseBasicAuth(headers);
    if (basic === null) return false;
    const secretMatches = timingSafeEqual(digest(basic.password), this.#projectSecretDigest);
    return basic.user === this.projectId && secretMatches;
  }

  async #sleep(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.#shutdown.signal });
    } catch {
      // Aborted by stop(): the socket is gone, so finishing early is harmless.
    }
  }
}

function send(outgoing: ServerResponse, response: ApiResponse): void {
  if (outgoing.destroyed || outgoing.writableEnded) return;
  const body = JSON.stringify(response.body);
  outgoing.writeHead(response.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...response.headers,
  });
  outgoing.end(body);
}

function errorTypeOf(response: ApiResponse): string | undefined {
  if (response.status < 400) return undefined;
  const type = response.body.error_type ?? response.body.error;
  return typeof type === 'string' ? type : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const inUse = error.code === 'EADDRINUSE';
      reject(
        new StytchEmulatorError(
          inUse
            ? `port ${port} on ${host} is already in use`
            : `could not listen on ${host}:${port} (${error.code ?? error.message})`,
          { code: inUse ? 'port_in_use' : 'listen_failed', cause: error },
        ),
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

const PROJECT_ID_PATTERN = /^project-(test|live)-[A-Za-z0-9-]{1,100}$/;

/** Validates options and fills defaults; every problem is reported at once. */
function resolveOptions(options: StytchEmulatorOptions): ResolvedOptions {
  const problems: string[] = [];
  const host = options.host ?? '127.0.0.1';
  if (host === '') problems.push('host must not be empty');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    problems.push('port must be an integer from 0 to 65535');
  const projectId = options.projectId ?? `project-test-${randomUUID()}`;
  if (!PROJECT_ID_PATTERN.test(projectId)) {
    problems.push(
      'projectId must look like project-test-<id> or project-live-<id> (letters, digits, dashes)',
    );
  }
  const environment = environmentOf(projectId);
  const projectSecret =
    options.projectSecret ?? `secret-${environment}-${randomBytes(24).toString('base64url')}`;
  // Printable ASCII only, so it travels in a Basic header unchanged.
  if (!/^[\x20-\x7e]{1,200}$/.test(projectSecret))
    problems.push('projectSecret must be 1 to 200 printable ASCII characters');
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) problems.push('seed must be an integer');
  const now = options.now ?? Date.now;
  let modes: EmulatorModes | undefined;
  try {
    modes = new EmulatorModes({ now, ...(options.modes === undefined ? {} : { initial: options.modes }) });
  } catch (error) {
    problems.push(error instanceof Error ? error.message : 'modes are invalid');
  }
  if (problems.length > 0 || modes === undefined) {
    throw new StytchEmulatorError(`Invalid emulator options: ${problems.join('; ')}`, {
      code: 'invalid_option',
    });
  }
  return {
    host,
    port,
    projectId,
    projectSecret,
    seed,
    now,
    logger: options.logger ?? (() => undefined),
    modes,
  };
}
