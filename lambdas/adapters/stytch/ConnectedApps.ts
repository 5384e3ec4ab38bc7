import { StytchApiError, StytchPublicClientError } from './errors.js';
import type { StytchRequester } from './M2MClients.js';
import { encodeClientId, paginate } from './paging.js';
import {
  connectedAppResponse,
  connectedAppRotateStartResponse,
  connectedAppSearchResponse,
  parseResponse,
} from './schemas.js';
import type { TransportResponse } from './transport.js';
import type {
  ConnectedApp,
  ConnectedAppsPage,
  SearchConnectedAppsParams,
  StartedConnectedAppRotation,
} from './types.js';

const ROUTES = {
  get: 'GET /v1/connected_apps/clients/{client_id}',
  search: 'POST /v1/connected_apps/clients/search',
  rotateStart: 'POST /v1/connected_apps/clients/{client_id}/secrets/rotate/start',
  rotateComplete: 'POST /v1/connected_apps/clients/{client_id}/secrets/rotate',
  rotateCancel: 'POST /v1/connected_apps/clients/{client_id}/secrets/rotate/cancel',
} as const;

const PUBLIC_CLIENT_ERROR_TYPE = 'public_connected_apps_do_not_have_secrets';
// Bounds the memory of known public ids in a long-lived container; a miss only costs a request.
const MAX_KNOWN_PUBLIC = 10_000;

/**
 * Connected App clients (`/v1/connected_apps/clients`): reads and confidential-client secret
 * rotation. Rotation of a public client fails with {@link StytchPublicClientError}, without a
 * request when an earlier read showed the app is public (a client type cannot change).
 */
export class ConnectedApps {
  readonly #requester: StytchRequester;
  readonly #knownPublic = new Set<string>();

  public constructor(requester: StytchRequester) {
    this.#requester = requester;
  }

  /** Reads one app. */
  public async get(clientId: string): Promise<ConnectedApp> {
    const response = await this.#requester.send({
      method: 'GET',
      route: ROUTES.get,
      path: `/v1/connected_apps/clients/${encodeClientId(clientId)}`,
      auth: 'project',
      idempotent: true,
    });
    return this.#remember(parseResponse(connectedAppResponse, response, ROUTES.get));
  }

  /** Reads one page of apps. */
  public async search(params: SearchConnectedAppsParams = {}): Promise<ConnectedAppsPage> {
    const response = await this.#requester.send({
      method: 'POST',
      route: ROUTES.search,
      path: '/v1/connected_apps/clients/search',
      auth: 'project',
      idempotent: true,
      body: { json: { limit: params.limit, cursor: params.cursor } },
    });
    const page = parseResponse(connectedAppSearchResponse, response, ROUTES.search);
    for (const app of page.apps) this.#remember(app);
    return page;
  }

  /** Every app, across all pages. */
  public searchAll(params: SearchConnectedAppsParams = {}): AsyncIterable<ConnectedApp> {
    return paginate(ROUTES.search, params.cursor, async (cursor) => {
      const page = await this.search({ ...params, cursor });
      return { items: page.apps, nextCursor: page.nextCursor };
    });
  }

  /**
   * Starts a rotation of a confidential app: returns `nextClientSecret`, the only time Stytch
   * shows it.
   * @throws {StytchPublicClientError} for a public app
   */
  public async rotateStart(clientId: string): Promise<StartedConnectedAppRotation> {
    const response = await this.#rotate(clientId, ROUTES.rotateStart, '/start');
    return parseResponse(connectedAppRotateStartResponse, response, ROUTES.rotateStart);
  }

  /**
   * Completes a rotation: the next secret becomes the only valid one.
   * @throws {StytchPublicClientError} for a public app
   */
  public async rotateComplete(clientId: string): Promise<ConnectedApp> {
    const response = await this.#rotate(clientId, ROUTES.rotateComplete, '');
    return parseResponse(connectedAppResponse, response, ROUTES.rotateComplete);
  }

  /**
   * Cancels a rotation: the next secret stops working.
   * @throws {StytchPublicClientError} for a public app
   */
  public async rotateCancel(clientId: string): Promise<ConnectedApp> {
    const response = await this.#rotate(clientId, ROUTES.rotateCancel, '/cancel');
    return parseResponse(connectedAppResponse, response, ROUTES.rotateCancel);
  }

  async #rotate(clientId: string, route: string, suffix: string): Promise<TransportResponse> {
    const path = `/v1/connected_apps/clients/${encodeClientId(clientId)}/secrets/rotate${suffix}`;
    if (this.#knownPublic.has(clientId)) {
      // Raised locally, so there is no Stytch status; 400 is what a permanent refusal looks like.
      throw new StytchPublicClientError(clientId, {
        route,
        statusCode: 400,
        errorType: PUBLIC_CLIENT_ERROR_TYPE,
        requestId: null,
        errorMessage: '',
      });
    }
    try {
      return await this.#requester.send({
        method: 'POST',
        route,
        path,
        auth: 'project',
        idempotent: false,
        body: { json: {} },
      });
    } catch (error) {
      if (error instanceof StytchApiError && error.errorType === PUBLIC_CLIENT_ERROR_TYPE) {
        this.#markPublic(clientId);
        const { statusCode, errorType, requestId } = error;
        throw new StytchPublicClientError(
          clientId,
          { route, statusCode, errorType, requestId, errorMessage: '' },
          { cause: error },
        );
      }
      throw error;
    }
  }

  #remember(app: ConnectedApp): ConnectedApp {
    if (app.isPublic) this.#markPublic(app.clientId);
    return app;
  }

  #markPublic(clientId: string): void {
    if (this.#knownPublic.size >= MAX_KNOWN_PUBLIC) this.#knownPublic.clear();
    this.#knownPublic.add(clientId);
  }
}
