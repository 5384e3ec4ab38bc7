import { RotatorError } from '#core/errors.js';
import type { ClientRef, StytchPort, StytchSecretState } from '#core/ports.js';
import { AlreadyRotatingError, NotRotatingError, SelfTestFailedError } from '#core/rotationErrors.js';
import type { Secret } from '#core/secret.js';
import { StytchApiError, StytchPublicClientError } from './errors.js';
import type { StytchClient } from './StytchClient.js';
import type { ConnectedApp, M2MClient } from './types.js';

/** Stytch's `error_type`s for "a rotation is already pending", per client kind. */
const ALREADY_ROTATING = new Set([
  'm2m_client_already_rotating_secret',
  'connected_app_already_rotating_secret',
]);
/** Stytch's `error_type`s for "no rotation is pending", per client kind. */
const NOT_ROTATING = new Set(['m2m_client_not_rotating_secret', 'connected_app_not_rotating_secret']);

/** Props of {@link StytchRotationAdapter}. */
export interface StytchRotationAdapterProps {
  /** Built once per container by the handler; the adapter never closes it. */
  readonly stytch: StytchClient;
}

/**
 * {@link StytchPort} over {@link StytchClient}, for both client kinds: `m2m` goes to
 * `stytch.m2m.*`, `connected_app` to `stytch.connectedApps.*`.
 *
 * Stytch's rotation-state refusals become {@link AlreadyRotatingError} / {@link NotRotatingError}
 * (with the {@link StytchApiError} as `cause`); every other Stytch error passes through
 * unchanged, since it already carries `retryable` and `outcomeUnknown`.
 *
 * Connected Apps have no client-credentials token endpoint here (the authorization-code and
 * refresh flows run on the project's own domain), so for them `selfTest` and `authenticates`
 * can only compare last-four characters with what Stytch reports. That proves the stored secret
 * is the one Stytch issued (up to a 1-in-62⁴ chance of a collision) but not that it
 * authenticates.
 */
export class StytchRotationAdapter implements StytchPort {
  readonly #stytch: StytchClient;

  public constructor(props: StytchRotationAdapterProps) {
    this.#stytch = props.stytch;
  }

  public startRotation(
    client: ClientRef,
  ): Promise<{ readonly nextSecret: Secret; readonly state: StytchSecretState }> {
    return this.#translate(client, async () => {
      if (client.kind === 'm2m') {
        const started = await this.#stytch.m2m.rotateStart(client.clientId);
        return { nextSecret: started.nextClientSecret, state: m2mState(started.client) };
      }
      const started = await this.#stytch.connectedApps.rotateStart(client.clientId);
      return { nextSecret: started.nextClientSecret, state: appState(started.app) };
    });
  }

  public completeRotation(client: ClientRef): Promise<StytchSecretState> {
    return this.#translate(client, async () =>
      client.kind === 'm2m'
        ? m2mState(await this.#stytch.m2m.rotateComplete(client.clientId))
        : appState(await this.#stytch.connectedApps.rotateComplete(client.clientId)),
    );
  }

  public cancelRotation(client: ClientRef): Promise<StytchSecretState> {
    return this.#translate(client, async () =>
      client.kind === 'm2m'
        ? m2mState(await this.#stytch.m2m.rotateCancel(client.clientId))
        : appState(await this.#stytch.connectedApps.rotateCancel(client.clientId)),
    );
  }

  public getSecretState(client: ClientRef): Promise<StytchSecretState> {
    return this.#translate(client, async () =>
      client.kind === 'm2m'
        ? m2mState(await this.#stytch.m2m.get(client.clientId))
        : appState(await this.#stytch.connectedApps.get(client.clientId)),
    );
  }

  /**
   * m2m: mints a token with `secret` and verifies it against the project's JWKS (and that it was
   * issued to this client). connected_app: checks that Stytch's pending secret ends in
   * `secret.lastFour` (see the class comment for why that is all we can check).
   *
   * @throws {SelfTestFailedError} (permanent) when Stytch rejects the secret, the token does not
   *   verify, or the last four do not match
   * @throws the Stytch error unchanged when it is retryable (429, 5xx, network, timeout, a JWKS
   *   fetch that failed): the secret was not judged, so the step should retry, not cancel
   */
  public async selfTest(client: ClientRef, secret: Secret): Promise<void> {
    if (client.kind === 'connected_app') {
      const state = await this.getSecretState(client);
      if (state.nextLastFour !== secret.lastFour) {
        throw new SelfTestFailedError(client.clientId, secret.lastFour, {
          cause: new RotatorError(
            `Stytch's pending secret of Connected App ${client.clientId} ends in ` +
              `${state.nextLastFour === null ? '(none pending)' : `…${state.nextLastFour}`}`,
          ),
        });
      }
      return;
    }
    try {
      const token = await this.#stytch.token({ clientId: client.clientId, clientSecret: secret });
      const verified = await this.#stytch.verifyToken(token.accessToken);
      if (verified.clientId !== client.clientId) {
        throw new RotatorError(`The token's subject is ${verified.clientId}, not ${client.clientId}`);
      }
    } catch (error) {
      if (error instanceof RotatorError && error.retryable) throw error;
      throw new SelfTestFailedError(client.clientId, secret.lastFour, { cause: error });
    }
  }

  /**
   * m2m: whether the token endpoint accepts `secret` now: true when a token is minted, false on
   * `invalid_client`; any other error is rethrown. connected_app: whether Stytch lists a current
   * or pending secret ending in `secret.lastFour` (no token endpoint to ask; see the class comment).
   */
  public async authenticates(client: ClientRef, secret: Secret): Promise<boolean> {
    if (client.kind === 'connected_app') {
      const state = await this.getSecretState(client);
      return state.currentLastFour === secret.lastFour || state.nextLastFour === secret.lastFour;
    }
    try {
      await this.#stytch.token({ clientId: client.clientId, clientSecret: secret });
      return true;
    } catch (error) {
      if (error instanceof StytchApiError && error.errorType === 'invalid_client') return false;
      throw error;
    }
  }

  /** Runs `call`, turning Stytch's rotation-state refusals into the core's errors. */
  async #translate<T>(client: ClientRef, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof StytchApiError) {
        if (ALREADY_ROTATING.has(error.errorType))
          throw new AlreadyRotatingError(client.clientId, { cause: error });
        if (NOT_ROTATING.has(error.errorType)) throw new NotRotatingError(client.clientId, { cause: error });
      }
      throw error;
    }
  }
}

function m2mState(client: M2MClient): StytchSecretState {
  return { currentLastFour: client.clientSecretLastFour, nextLastFour: client.nextClientSecretLastFour };
}

function appState(app: ConnectedApp): StytchSecretState {
  if (app.isPublic || app.clientSecretLastFour === null) {
    // A public app has no secret to rotate; the same permanent error a rotate call would raise.
    throw new StytchPublicClientError(app.clientId, {
      route: 'GET /v1/connected_apps/clients/{client_id}',
      statusCode: 400,
      errorType: 'public_connected_apps_do_not_have_secrets',
      requestId: null,
      errorMessage: '',
    });
  }
  return { currentLastFour: app.clientSecretLastFour, nextLastFour: app.nextClientSecretLastFour };
}
