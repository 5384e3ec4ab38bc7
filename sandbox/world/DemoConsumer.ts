import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  createM2MCredentials,
  httpTokenEndpoint,
  type M2MCredentials,
  type TokenEndpoint,
  TokenVerificationError,
} from '#consumer/index.js';
import { consumerSource, type RotatorEvent } from '#core/events.js';

/** How a demo consumer answers a pending rotation. */
export type ConsumerBehaviour = 'healthy' | 'unhealthy' | 'silent';

/** What a demo consumer did, for the timeline and the JSON report. */
export type ConsumerNote =
  | {
      readonly kind: 'reported';
      readonly consumer: string;
      readonly clientId: string;
      readonly healthy: boolean;
    }
  | {
      /** The consumer now uses another version of the secret (a proven pending one, or the current after a re-read). */
      readonly kind: 'switched';
      readonly consumer: string;
      readonly clientId: string;
      readonly lastFour: string;
      readonly stage: string;
    };

/** Options of {@link DemoConsumer}. */
export interface DemoConsumerProps {
  readonly name: string;
  readonly clientId: string;
  readonly secretId: string;
  readonly behaviour: ConsumerBehaviour;
  readonly secretsManager: SecretsManagerClient;
  /** Signed with this consumer's own credentials: only they may report as this consumer. */
  readonly eventBridge: EventBridgeClient;
  readonly eventBusName: string;
  /** Pause between token requests. */
  readonly intervalMs: number;
  /**
   * The demo resource server: each token is used on `GET <url>/whoami`, as a service would call an
   * API with it. @default - tokens are only minted
   */
  readonly resourceServerUrl?: string;
  readonly note: (note: ConsumerNote) => void;
}

/**
 * A service built on the consumer library (`consumer/`): it asks for a token every `intervalMs`,
 * and hands the library the rotator's events. `healthy` consumers prove the pending secret and
 * report; an `unhealthy` one cannot verify tokens of the pending secret (simulated) and reports
 * so; a `silent` one never hears of the rotation (no events, no polling) and only finds out by an
 * `invalid_client`, which the library answers with one re-read. A request counts as failed only
 * when the library throws.
 */
export class DemoConsumer {
  /**
   * `requests`/`failed`: token requests (failed when the library throws). `apiCalls`/`apiRefused`:
   * calls of the resource server (refused when a retry with a fresh token is refused too).
   */
  public readonly stats = { requests: 0, failed: 0, apiCalls: 0, apiRefused: 0 };
  readonly #props: DemoConsumerProps;
  readonly #credentials: M2MCredentials;
  #running = false;
  #loop: Promise<void> | undefined;
  #versionInUse: string | undefined;

  public constructor(props: DemoConsumerProps) {
    this.#props = props;
    const http = httpTokenEndpoint();
    // Renewing before each request (skew ≥ token lifetime) keeps the token endpoint busy throughout
    // the demo, so a rotation that broke a secret in use would show as failed requests.
    const tokens: TokenEndpoint =
      props.behaviour === 'unhealthy'
        ? {
            mint: (credentials, scopes) => http.mint(credentials, scopes),
            verify: async () => {
              throw new TokenVerificationError('simulated: this consumer cannot use the pending secret');
            },
          }
        : http;
    this.#credentials = createM2MCredentials({
      secretId: props.secretId,
      consumerName: props.name,
      secretsManager: props.secretsManager,
      eventBridge: props.eventBridge,
      tokens,
      tokenSkewSeconds: 24 * 3600,
      pollIntervalMs: 0,
      ...(props.behaviour === 'silent' ? { reporter: { report: async () => undefined } } : {}),
      eventBusName: props.eventBusName,
      // The consumer's own source: the bus accepts it only from the principal tagged with this name.
      reportSource: consumerSource(props.name),
    });
  }

  public get name(): string {
    return this.#props.name;
  }

  /** Reads the current secret and starts requesting tokens. */
  public async start(): Promise<void> {
    this.#versionInUse = (await this.#credentials.current()).versionId;
    this.#running = true;
    this.#loop = this.#run();
  }

  public async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await this.#credentials.close();
  }

  /** Hands the consumer a rotator event (the service's event subscription). */
  public async onEvent(event: RotatorEvent): Promise<void> {
    const { name, clientId, behaviour } = this.#props;
    if ((event.detail as { clientId?: string }).clientId !== clientId || behaviour === 'silent') return;
    const result = await this.#credentials.onRotatorEvent(event);
    if (result?.reported === true)
      this.#props.note({ kind: 'reported', consumer: name, clientId, healthy: result.healthy });
    await this.#noteVersion();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      this.stats.requests += 1;
      let token: string | undefined;
      try {
        token = await this.#credentials.accessToken();
        await this.#noteVersion();
      } catch {
        this.stats.failed += 1;
      }
      if (token !== undefined && this.#props.resourceServerUrl !== undefined) await this.#callApi(token);
      await new Promise((resolve) => setTimeout(resolve, this.#props.intervalMs));
    }
  }

  /**
   * One call of the resource server. A token refused as revoked (minted before a revocation's
   * cutoff, e.g. with the pending secret while a leak rotation ran) is what a service retries once
   * with a fresh token, minted after the cutoff the answer names.
   */
  async #callApi(token: string): Promise<void> {
    this.stats.apiCalls += 1;
    let answer = await whoami(this.#props.resourceServerUrl ?? '', token);
    if (answer.status === 401 && answer.reason === 'token_revoked') {
      this.#credentials.tokenRefused(token);
      const wait = Math.min(Math.max(0, (answer.cutoffMs ?? 0) - Date.now() + 50), 3_000);
      await new Promise((resolve) => setTimeout(resolve, wait));
      answer = await this.#credentials.accessToken().then(
        (fresh) => whoami(this.#props.resourceServerUrl ?? '', fresh),
        () => answer,
      );
    }
    if (answer.status !== 200) this.stats.apiRefused += 1;
  }

  async #noteVersion(): Promise<void> {
    const current = await this.#credentials.current();
    if (current.versionId === this.#versionInUse) return;
    this.#versionInUse = current.versionId;
    this.#props.note({
      kind: 'switched',
      consumer: this.#props.name,
      clientId: this.#props.clientId,
      lastFour: current.clientSecret.lastFour,
      stage: current.stage,
    });
  }
}

/** `GET <url>/whoami` with a bearer token: the status, and the reason and cutoff of a refusal. */
async function whoami(
  url: string,
  token: string,
): Promise<{ status: number; reason?: string; cutoffMs?: number }> {
  try {
    const response = await fetch(`${url}/whoami`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await response.json().catch(() => ({}))) as { reason?: unknown; cutoff?: unknown };
    return {
      status: response.status,
      ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
      ...(typeof body.cutoff === 'string' ? { cutoffMs: Date.parse(body.cutoff) } : {}),
    };
  } catch {
    return { status: 0 };
  }
}
