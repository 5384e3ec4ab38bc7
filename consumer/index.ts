/**
 * The consumer library: how a service uses a managed Stytch M2M client so that rotations never fail
 * one of its token requests. Services install it as `@stytch-m2m-rotator/consumer` (packages/consumer,
 * docs/consumers.md); `stytch-m2m-rotator/consumer` names the same compiled library.
 *
 * ```ts
 * const credentials = createM2MCredentials({ secretId: 'stytch/m2m/m2m-client-test-billing-worker', consumerName: 'billing-api' });
 * const token = await credentials.accessToken(['read:invoices']);
 * ```
 */
import { consumerSource } from '#core/events.js';
import { ConsumerNameSchema } from '#core/model.js';
import {
  type AwsCredentials,
  defaultEventBridgeClient,
  type EventBridgeClient,
  eventBridgeReporter,
} from './adapters/eventBridge.js';
import {
  defaultSecretsManagerClient,
  type SecretsManagerClient,
  secretsManagerSource,
} from './adapters/secretsManager.js';
import { type ConsumerLogger, M2MCredentials } from './M2MCredentials.js';
import type { HealthReporter, SecretSource } from './secretSource.js';
import { httpTokenEndpoint, type TokenEndpoint } from './tokenEndpoint.js';

/** Options of {@link createM2MCredentials}. */
export interface CreateM2MCredentialsOptions {
  /** The managed client's secret: `<prefix>/<client_id>` (e.g. `stytch/m2m/<client_id>`) or its ARN. */
  readonly secretId: string;
  /** This service's name, as the client's `expectedConsumers` lists it. */
  readonly consumerName: string;
  /**
   * The rotator's event bus, for health reports.
   * @default - `ROTATOR_EVENT_BUS_NAME` from the environment; without either, no reports are sent
   */
  readonly eventBusName?: string;
  /**
   * The AWS credentials of this consumer (its role, or in the sandbox its IAM user's access key from
   * `endpoints.credentials.consumers.<name>`), for the clients this library builds itself. Health
   * reports count only when published by the principal bound to `consumerName` (tagged
   * `rotator-consumer=<consumerName>` with the stack's ConsumerPolicyArn, or granted by
   * `grantHealthReports`); anyone else's PutEvents is refused with AccessDeniedException.
   * @default - the standard SDK credential chain (environment, profile, the role of the compute)
   */
  readonly credentials?: AwsCredentials;
  /** @default - a client from the standard SDK configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, …) and `credentials` */
  readonly secretsManager?: SecretsManagerClient;
  /** @default - a client from the standard SDK configuration and `credentials` */
  readonly eventBridge?: EventBridgeClient;
  /**
   * Source of the health reports. The rotator counts a report only when its source is
   * `stytch-m2m-rotator.consumer.<consumerName>` (and IAM lets a consumer use no other), so any
   * other value only gets the reports refused.
   * @default 'stytch-m2m-rotator.consumer.<consumerName>'
   * @deprecated Leave it unset: it exists for callers written before sources were the trust boundary.
   */
  readonly reportSource?: string;
  /** A cached token is renewed this many seconds before it expires. @default 60 */
  readonly tokenSkewSeconds?: number;
  /** How often to look for a pending rotation with DescribeSecret; 0 turns polling off. @default 60_000 */
  readonly pollIntervalMs?: number;
  /** Timeout of each token and JWKS request. @default 10_000 */
  readonly httpTimeoutMs?: number;
  /** @default - silent */
  readonly logger?: ConsumerLogger;
  /** Replace the parts that talk to AWS or Stytch (tests, other transports). */
  readonly source?: SecretSource;
  readonly tokens?: TokenEndpoint;
  readonly reporter?: HealthReporter;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Credentials for one managed client. Reads the secret by explicit stage, caches tokens per scope set,
 * takes part in rotations (pending check, switch, health report, fallback on cancel) and recovers from
 * a refusal of its credentials (`invalid_client` and its kin) with one re-read. Call `close()` when done.
 */
export function createM2MCredentials(options: CreateM2MCredentialsOptions): M2MCredentials {
  const problems: string[] = [];
  if (typeof options.secretId !== 'string' || options.secretId === '') problems.push('secretId is required');
  if (!ConsumerNameSchema.safeParse(options.consumerName).success) {
    // The health aggregator validates reports with the same schema: a name it refuses is never counted.
    problems.push(
      'consumerName must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  if (
    options.pollIntervalMs !== undefined &&
    !(Number.isInteger(options.pollIntervalMs) && options.pollIntervalMs >= 0)
  ) {
    problems.push('pollIntervalMs must be an integer >= 0');
  }
  if (options.tokenSkewSeconds !== undefined && !(options.tokenSkewSeconds >= 0)) {
    problems.push('tokenSkewSeconds must be >= 0');
  }
  if (problems.length > 0) throw new TypeError(`createM2MCredentials: ${problems.join('; ')}`);
  const eventBusName = options.eventBusName ?? process.env.ROTATOR_EVENT_BUS_NAME;
  const reporter =
    options.reporter ??
    (eventBusName === undefined || eventBusName === ''
      ? undefined
      : eventBridgeReporter(
          options.eventBridge ?? defaultEventBridgeClient(options.credentials),
          eventBusName,
          // The consumer speaks for itself: the only source its reports count from.
          options.reportSource ?? consumerSource(options.consumerName),
        ));
  return new M2MCredentials({
    secretId: options.secretId,
    consumerName: options.consumerName,
    source:
      options.source ??
      secretsManagerSource(options.secretsManager ?? defaultSecretsManagerClient(options.credentials)),
    tokens:
      options.tokens ??
      httpTokenEndpoint({
        ...(options.httpTimeoutMs === undefined ? {} : { timeoutMs: options.httpTimeoutMs }),
        ...(options.now === undefined ? {} : { now: options.now }),
      }),
    ...(reporter === undefined ? {} : { reporter }),
    ...(options.tokenSkewSeconds === undefined ? {} : { tokenSkewSeconds: options.tokenSkewSeconds }),
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

export { eventBridgeReporter } from './adapters/eventBridge.js';
export { secretsManagerSource } from './adapters/secretsManager.js';
export {
  ConsumerError,
  CredentialsClosedError,
  SecretFormatError,
  SecretReadError,
  TokenRequestError,
  TokenVerificationError,
} from './errors.js';
export {
  type ConsumerLogger,
  type CurrentCredentials,
  M2MCredentials,
  type M2MCredentialsParts,
  type PendingCheckResult,
} from './M2MCredentials.js';
export {
  type HealthReportDetail,
  type HealthReporter,
  parseSecretString,
  type SecretSource,
  type SecretVersion,
  type Stage,
} from './secretSource.js';
export {
  type AccessToken,
  type ClientCredentials,
  httpTokenEndpoint,
  jwksUrlFor,
  type TokenEndpoint,
} from './tokenEndpoint.js';
