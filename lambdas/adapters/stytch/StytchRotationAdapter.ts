import { RotatorError } from '#core/errors.js';
import type { ClientRef, StytchPort, StytchSecretState } from '#core/ports.js';
import { AlreadyRotatingError, NotRotatingError, SelfTestFailedError } from '#core/rotationErrors.js';
import type { Secret } from '#core/secret.js';
import { isClientAuthRefusal } from './clientRefusal.js';
import {
  StytchApiError,
  StytchConfigError,
  StytchPublicClientError,
  StytchTokenVerificationError,
} from './errors.js';
import type { StytchClient } from './StytchClient.js';
import type { ConnectedApp, M2MClient } from './types.js';

/** Stytch's `error_type`s for "a rotation is already pending", per client kind. */
const ALREADY_ROTATING = new Set([
  'm2m_client_already_rotating_secret',
  'connected_app_already_rotating_secret',
]);
/** Stytch's `error_type`s for "no rotation is pending", per client kind. */
const NOT_ROTATING = new Set(['m2m_client_not_rotating_secret', 'connected_app_not_rotating_secret']);

/** How long a just-rotated secret may disagree with the rotation by default (see the props). */
export const DEFAULT_CONSISTENCY_GRACE_MS = 10_000;
/** The first wait between two checks of a secret during the grace; it doubles up to the max. */
const RECHECK_FIRST_DELAY_MS = 100;
const RECHECK_MAX_DELAY_MS = 1_000;

/** Props of {@link StytchRotationAdapter}. */
export interface StytchRotationAdapterProps {
  /** Built once per container by the handler; the adapter never closes it. */
  readonly stytch: StytchClient;
  /**
   * How long Stytch's token endpoint may lag a rotation: nothing says rotate/start and rotate
   * (complete) take effect there at once (stytch-api.md §12). `selfTest` keeps re-checking a
   * refused new secret, and `authenticates` an accepted old one, this long (short backoff from
   * 100 ms, doubling to 1 s) before it gives its verdict. 0 checks once.
   * @default 10_000
   */
  readonly consistencyGraceMs?: number;
  /** The clock of the grace, in ms. @default Date.now */
  readonly now?: () => number;
  /** Waits between checks. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
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
 * authenticates. Management reads are taken as consistent, so no grace applies to them.
 *
 * The token endpoint's refusal is recognised by {@link isClientAuthRefusal} (any
 * client-authentication refusal, not only `invalid_client`).
 */
export class StytchRotationAdapter implements StytchPort {
  readonly #stytch: StytchClient;
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  public constructor(props: StytchRotationAdapterProps) {
    const graceMs = props.consistencyGraceMs ?? DEFAULT_CONSISTENCY_GRACE_MS;
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) {
      throw new StytchConfigError(['consistencyGraceMs must be an integer >= 0']);
    }
    this.#stytch = props.stytch;
    this.#graceMs = graceMs;
    this.#now = props.now ?? Date.now;
    this.#sleep = props.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
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
   * issued to this client). A just-issued secret may not have reached the token endpoint yet, so a
   * refusal ({@link isClientAuthRefusal}) or a failed verification is checked again with short
   * backoff until `consistencyGraceMs` has passed; only then is it a verdict. connected_app:
   * checks that Stytch's pending secret ends in `secret.lastFour` (see the class comment for why
   * that is all we can check).
   *
   * @throws {SelfTestFailedError} (permanent) when Stytch still rejects the secret or the token
   *   still does not verify at the end of the grace, or at once for any other permanent failure
   *   (a token for another subject, a malformed answer) or when the last four do not match
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
    const recheck = this.#recheck();
    for (;;) {
      try {
        const token = await this.#stytch.token({ clientId: client.clientId, clientSecret: secret });
        const verified = await this.#stytch.verifyToken(token.accessToken);
        if (verified.clientId !== client.clientId) {
          throw new RotatorError(`The token's subject is ${verified.clientId}, not ${client.clientId}`);
        }
        return;
      } catch (error) {
        if (error instanceof RotatorError && error.retryable) throw error;
        // Only what a lagging Stytch could cause is worth another look; anything else is final.
        const mayBeLag = isRefusal(error) || error instanceof StytchTokenVerificationError;
        if (!mayBeLag || !(await recheck())) {
          throw new SelfTestFailedError(client.clientId, secret.lastFour, { cause: error });
        }
      }
    }
  }

  /**
   * Used to prove that a just-replaced secret is dead. m2m: false as soon as the token endpoint
   * refuses `secret` ({@link isClientAuthRefusal}); while it still mints a token, checks again
   * with short backoff until `consistencyGraceMs` has passed (the endpoint may lag the rotation),
   * and only then returns true. Any other error is rethrown unchanged. connected_app: whether
   * Stytch lists a current or pending secret ending in `secret.lastFour` (no token endpoint to
   * ask; see the class comment), at once.
   */
  public async authenticates(client: ClientRef, secret: Secret): Promise<boolean> {
    if (client.kind === 'connected_app') {
      const state = await this.getSecretState(client);
      return state.currentLastFour === secret.lastFour || state.nextLastFour === secret.lastFour;
    }
    const recheck = this.#recheck();
    for (;;) {
      try {
        await this.#stytch.token({ clientId: client.clientId, clientSecret: secret });
      } catch (error) {
        if (isRefusal(error)) return false;
        throw error;
      }
      if (!(await recheck())) return true;
    }
  }

  /**
   * A fresh grace, starting now: each call waits before the next check (100 ms, doubling up to
   * 1 s, never past the end of the grace) and answers true, or answers false once the grace is
   * over. The last check therefore happens at the end of the grace.
   */
  #recheck(): () => Promise<boolean> {
    const deadline = this.#now() + this.#graceMs;
    let delayMs = RECHECK_FIRST_DELAY_MS;
    return async () => {
      const remainingMs = deadline - this.#now();
      if (remainingMs <= 0) return false;
      await this.#sleep(Math.min(delayMs, remainingMs));
      delayMs = Math.min(delayMs * 2, RECHECK_MAX_DELAY_MS);
      return true;
    };
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

/** Whether the token endpoint refused the client's credentials (any OAuth refusal value, 400/401). */
function isRefusal(error: unknown): boolean {
  return error instanceof StytchApiError && isClientAuthRefusal(error.statusCode, error.errorType);
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
