import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { RotatorEvent } from '#core/events.js';
import { Secret } from '#core/secret.js';

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
      readonly kind: 'switched';
      readonly consumer: string;
      readonly clientId: string;
      readonly lastFour: string;
    }
  | {
      readonly kind: 'recovered';
      readonly consumer: string;
      readonly clientId: string;
      readonly lastFour: string;
    };

/** Options of {@link DemoConsumer}. */
export interface DemoConsumerProps {
  readonly name: string;
  readonly clientId: string;
  readonly secretId: string;
  readonly behaviour: ConsumerBehaviour;
  readonly secretsManager: SecretsManagerClient;
  readonly eventBridge: EventBridgeClient;
  readonly eventBusName: string;
  /** Pause between token requests. */
  readonly intervalMs: number;
  readonly note: (note: ConsumerNote) => void;
}

interface Credentials {
  readonly projectId: string;
  readonly clientId: string;
  readonly clientSecret: Secret;
  readonly tokenUrl: string;
}

class InvalidClientError extends Error {
  public constructor() {
    super('invalid_client');
    this.name = 'InvalidClientError';
  }
}

/**
 * A service using a managed client the way the consumer contract says: it reads AWSCURRENT,
 * mints a token on every request, and on `Rotation Pending` proves the pending secret (mint and
 * verify against the JWKS) and reports its health; on `invalid_client` it re-reads AWSCURRENT and
 * retries once. A request counts as failed only when that retry fails too.
 */
export class DemoConsumer {
  public readonly stats = { requests: 0, failed: 0 };
  readonly #props: DemoConsumerProps;
  #credentials: Credentials | undefined;
  #running = false;
  #loop: Promise<void> | undefined;

  public constructor(props: DemoConsumerProps) {
    this.#props = props;
  }

  public get name(): string {
    return this.#props.name;
  }

  /** Reads the current secret and starts requesting tokens. */
  public async start(): Promise<void> {
    this.#credentials = await this.#read('AWSCURRENT');
    this.#running = true;
    this.#loop = this.#run();
  }

  public async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Hands the consumer a rotator event (the service's event subscription). */
  public async onEvent(event: RotatorEvent): Promise<void> {
    const detail = event.detail as { clientId?: string };
    if (detail.clientId !== this.#props.clientId) return;
    if (event.detailType === 'Rotation Pending') await this.#onPending(event);
    if (event.detailType === 'Rotation Completed' || event.detailType === 'Rotation Cancelled') {
      this.#credentials = await this.#read('AWSCURRENT');
    }
  }

  async #onPending(event: RotatorEvent): Promise<void> {
    const { rotationId, pendingVersionId } = event.detail as { rotationId: string; pendingVersionId: string };
    const { behaviour, name, clientId } = this.#props;
    if (behaviour === 'silent') return;
    let healthy = false;
    let detail = 'the pending secret minted a token that verified against the JWKS';
    const pending = await this.#read('AWSPENDING').catch(() => undefined);
    if (pending === undefined) {
      detail = 'no AWSPENDING version to test';
    } else if (behaviour === 'unhealthy') {
      detail = 'simulated failure: this consumer cannot use the pending secret';
    } else {
      try {
        await verify(pending, await mint(pending));
        healthy = true;
      } catch (error) {
        detail = `pending secret failed: ${error instanceof Error ? error.name : 'error'}`;
      }
    }
    if (healthy && pending !== undefined) {
      this.#credentials = pending;
      this.#props.note({
        kind: 'switched',
        consumer: name,
        clientId,
        lastFour: pending.clientSecret.lastFour,
      });
    }
    await this.#props.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.#props.eventBusName,
            Source: `sandbox.consumer.${name}`,
            DetailType: 'Consumer Health Reported',
            Detail: JSON.stringify({
              clientId,
              rotationId,
              pendingVersionId,
              consumer: name,
              healthy,
              detail,
            }),
          },
        ],
      }),
    );
    this.#props.note({ kind: 'reported', consumer: name, clientId, healthy });
  }

  async #run(): Promise<void> {
    while (this.#running) {
      await this.#request();
      await new Promise((resolve) => setTimeout(resolve, this.#props.intervalMs));
    }
  }

  async #request(): Promise<void> {
    this.stats.requests += 1;
    const credentials = this.#credentials;
    if (credentials === undefined) return;
    try {
      await mint(credentials);
    } catch (error) {
      if (!(error instanceof InvalidClientError)) {
        this.stats.failed += 1;
        return;
      }
      // The secret we hold was rotated away: re-read the current one and retry once.
      try {
        const fresh = await this.#read('AWSCURRENT');
        this.#credentials = fresh;
        await mint(fresh);
        this.#props.note({
          kind: 'recovered',
          consumer: this.#props.name,
          clientId: this.#props.clientId,
          lastFour: fresh.clientSecret.lastFour,
        });
      } catch {
        this.stats.failed += 1;
      }
    }
  }

  async #read(stage: 'AWSCURRENT' | 'AWSPENDING'): Promise<Credentials> {
    const { SecretString } = await this.#props.secretsManager.send(
      new GetSecretValueCommand({ SecretId: this.#props.secretId, VersionStage: stage }),
    );
    const json = JSON.parse(SecretString ?? '{}') as Record<string, string>;
    return {
      projectId: json.project_id ?? '',
      clientId: json.client_id ?? '',
      clientSecret: new Secret(json.client_secret ?? ''),
      tokenUrl: json.token_url ?? '',
    };
  }
}

/** The client-credentials grant at the secret's token URL. */
async function mint(credentials: Credentials): Promise<string> {
  const response = await fetch(credentials.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret.reveal(),
    }),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (body.error === 'invalid_client') throw new InvalidClientError();
  if (!response.ok || body.access_token === undefined)
    throw new Error(`token request failed: HTTP ${response.status}`);
  return body.access_token;
}

const jwksByUrl = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** Verifies a token against the project's JWKS (RS256, issuer, audience, expiry). */
async function verify(credentials: Credentials, token: string): Promise<void> {
  const base = credentials.tokenUrl.replace(/\/v1\/public\/.*$/, '');
  const url = `${base}/v1/sessions/jwks/${credentials.projectId}`;
  let jwks = jwksByUrl.get(url);
  if (jwks === undefined) {
    jwks = createRemoteJWKSet(new URL(url));
    jwksByUrl.set(url, jwks);
  }
  await jwtVerify(token, jwks, {
    algorithms: ['RS256'],
    issuer: `stytch.com/${credentials.projectId}`,
    audience: credentials.projectId,
  });
}
