import { Secret } from '#core/secret.js';
import { encodeClientId, paginate } from './paging.js';
import {
  deleteResponse,
  m2mClientResponse,
  m2mCreateResponse,
  m2mRotateStartResponse,
  m2mSearchResponse,
  parseResponse,
} from './schemas.js';
import type { TransportRequest, TransportResponse } from './transport.js';
import type {
  CreatedM2MClient,
  CreateM2MClientParams,
  M2MClient,
  M2MClientsPage,
  SearchM2MClientsParams,
  StartedM2MRotation,
  UpdateM2MClientParams,
} from './types.js';

/** The one capability the operation groups need from the transport. */
export interface StytchRequester {
  send(request: TransportRequest): Promise<TransportResponse>;
}

const ROUTES = {
  create: 'POST /v1/m2m/clients',
  get: 'GET /v1/m2m/clients/{client_id}',
  search: 'POST /v1/m2m/clients/search',
  update: 'PUT /v1/m2m/clients/{client_id}',
  delete: 'DELETE /v1/m2m/clients/{client_id}',
  rotateStart: 'POST /v1/m2m/clients/{client_id}/secrets/rotate/start',
  rotateComplete: 'POST /v1/m2m/clients/{client_id}/secrets/rotate',
  rotateCancel: 'POST /v1/m2m/clients/{client_id}/secrets/rotate/cancel',
} as const;

/**
 * M2M client management (`/v1/m2m/clients`), authenticated with the project credentials.
 *
 * Create and the three rotate calls are not idempotent: after a timeout or reset they are not
 * retried and fail with `outcomeUnknown: true`, so the caller reconciles instead of losing a
 * one-time secret.
 */
export class M2MClients {
  readonly #requester: StytchRequester;

  public constructor(requester: StytchRequester) {
    this.#requester = requester;
  }

  /**
   * Creates a client. The returned `clientSecret` is the only time Stytch shows it.
   * @example
   * const { client, clientSecret } = await stytch.m2m.create({ scopes: ['read:users'] });
   */
  public async create(params: CreateM2MClientParams): Promise<CreatedM2MClient> {
    const secret = params.clientSecret === undefined ? undefined : Secret.from(params.clientSecret);
    const response = await this.#requester.send({
      method: 'POST',
      route: ROUTES.create,
      path: '/v1/m2m/clients',
      auth: 'project',
      idempotent: false,
      body: {
        json: {
          scopes: params.scopes,
          client_id: params.clientId,
          client_secret: secret?.reveal(),
          client_name: params.clientName,
          client_description: params.clientDescription,
          trusted_metadata: params.trustedMetadata,
        },
      },
      secrets: secret === undefined ? [] : [secret],
    });
    return parseResponse(m2mCreateResponse, response, ROUTES.create);
  }

  /** Reads one client. */
  public async get(clientId: string): Promise<M2MClient> {
    const response = await this.#requester.send({
      method: 'GET',
      route: ROUTES.get,
      path: `/v1/m2m/clients/${encodeClientId(clientId)}`,
      auth: 'project',
      idempotent: true,
    });
    return parseResponse(m2mClientResponse, response, ROUTES.get);
  }

  /** Reads one page of clients; pass the previous page's `nextCursor` to continue. */
  public async search(params: SearchM2MClientsParams = {}): Promise<M2MClientsPage> {
    const query =
      params.query === undefined
        ? undefined
        : {
            operator: params.query.operator,
            operands: params.query.operands.map((o) => ({
              filter_name: o.filterName,
              filter_value: o.filterValue,
            })),
          };
    const response = await this.#requester.send({
      method: 'POST',
      route: ROUTES.search,
      path: '/v1/m2m/clients/search',
      auth: 'project',
      // A search changes nothing, so a repeat after a timeout is harmless.
      idempotent: true,
      body: { json: { limit: params.limit, cursor: params.cursor, query } },
    });
    return parseResponse(m2mSearchResponse, response, ROUTES.search);
  }

  /**
   * Every client matching `params`, across all pages.
   * @example
   * for await (const client of stytch.m2m.searchAll()) console.log(client.clientId);
   */
  public searchAll(params: SearchM2MClientsParams = {}): AsyncIterable<M2MClient> {
    return paginate(ROUTES.search, params.cursor, async (cursor) => {
      const page = await this.search({ ...params, cursor });
      return { items: page.clients, nextCursor: page.nextCursor };
    });
  }

  /** Changes the given fields; omitted fields stay as they are. */
  public async update(clientId: string, params: UpdateM2MClientParams): Promise<M2MClient> {
    const response = await this.#requester.send({
      method: 'PUT',
      route: ROUTES.update,
      path: `/v1/m2m/clients/${encodeClientId(clientId)}`,
      auth: 'project',
      idempotent: true,
      body: {
        json: {
          client_name: params.clientName,
          client_description: params.clientDescription,
          status: params.status,
          scopes: params.scopes,
          trusted_metadata: params.trustedMetadata,
        },
      },
    });
    return parseResponse(m2mClientResponse, response, ROUTES.update);
  }

  /** Deletes a client. Tokens already issued stay valid until they expire. */
  public async delete(clientId: string): Promise<void> {
    const response = await this.#requester.send({
      method: 'DELETE',
      route: ROUTES.delete,
      path: `/v1/m2m/clients/${encodeClientId(clientId)}`,
      auth: 'project',
      idempotent: true,
    });
    parseResponse(deleteResponse, response, ROUTES.delete);
  }

  /**
   * Starts a rotation: returns `nextClientSecret`, the only time Stytch shows it. Both secrets
   * work until {@link rotateComplete} or {@link rotateCancel}.
   */
  public async rotateStart(clientId: string): Promise<StartedM2MRotation> {
    const response = await this.#rotate(clientId, ROUTES.rotateStart, '/start');
    return parseResponse(m2mRotateStartResponse, response, ROUTES.rotateStart);
  }

  /** Completes a rotation: the next secret becomes the only valid one. */
  public async rotateComplete(clientId: string): Promise<M2MClient> {
    const response = await this.#rotate(clientId, ROUTES.rotateComplete, '');
    return parseResponse(m2mClientResponse, response, ROUTES.rotateComplete);
  }

  /** Cancels a rotation: the next secret stops working, the current one stays. */
  public async rotateCancel(clientId: string): Promise<M2MClient> {
    const response = await this.#rotate(clientId, ROUTES.rotateCancel, '/cancel');
    return parseResponse(m2mClientResponse, response, ROUTES.rotateCancel);
  }

  #rotate(clientId: string, route: string, suffix: string): Promise<TransportResponse> {
    return this.#requester.send({
      method: 'POST',
      route,
      path: `/v1/m2m/clients/${encodeClientId(clientId)}/secrets/rotate${suffix}`,
      auth: 'project',
      idempotent: false,
      body: { json: {} },
    });
  }
}
