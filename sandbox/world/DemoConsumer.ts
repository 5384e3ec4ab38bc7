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
  public readonly stats = { requests: 0, failed: 0 };
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
      try {
        await this.#credentials.accessToken();
        await this.#noteVersion();
      } catch {
        this.stats.failed += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, this.#props.intervalMs));
    }
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
