import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import type { StepLogger } from './deps.js';
import { toError } from './errors.js';
import type { FingerprintIndexPort, FingerprintPort, FingerprintStage } from './fingerprint.js';
import type { Clock, EventBusPort } from './ports.js';
import type { Secret } from './secret.js';

/** GitHub's public API, the webhook receiver's default. GitHub Enterprise Server: `https://HOST/api/v3`. */
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

/**
 * The GitHub secret-scanning webhook receiver, as pure logic: verify the delivery's signature,
 * parse it, claim the alert event it reports once, fetch the alert's secret (the payload never
 * carries it), fingerprint it and publish `Secret Leak Detected` by fingerprint.
 *
 * Whatever comes back (response bodies, log lines, the event) names clients, stages, last-four
 * characters and fingerprints only: never the leaked value, the webhook secret or a token.
 */

/**
 * `detail.source` of the leak events this receiver publishes: the audit text ("who found it")
 * the intake records and the history shows. Who *speaks* is the envelope source,
 * `EVENT_SOURCES.githubWebhook`, which the adapter sets and IAM binds to this function's role.
 */
export const GITHUB_LEAK_SOURCE = 'github-secret-scanning';

/** The request headers the receiver reads, lower-cased as Function URLs deliver them. */
export const GITHUB_WEBHOOK_HEADERS = {
  event: 'x-github-event',
  delivery: 'x-github-delivery',
  signature256: 'x-hub-signature-256',
} as const;

/**
 * What a delivery id (and a claim key, see {@link alertClaimKey}) may look like before it
 * becomes part of a ledger key: GitHub sends a GUID; anything else is refused rather than escaped.
 */
export const GITHUB_DELIVERY_ID_PATTERN = /^[A-Za-z0-9-]{1,100}$/;

/** Prefix of every {@link alertClaimKey}. */
export const ALERT_CLAIM_KEY_PREFIX = 'alert-';

/** The parts of a signed alert payload that say which event of which alert it reports. */
export interface AlertEventRef {
  /** `repository.full_name`, `owner/name`. */
  readonly repository: string;
  readonly alertNumber: number;
  readonly action: string;
  /** `alert.updated_at`, when the payload has one: it tells two reopenings of one alert apart. */
  readonly updatedAt?: string | null | undefined;
}

/**
 * The key a delivery is claimed under: `alert-<SHA-256 hex>` of the alert event it reports
 * (repository, lower-cased as GitHub compares names; alert number; action; `updated_at`), all
 * read from the signed body. `X-GitHub-Delivery` is not part of it: the HMAC does not cover that
 * header, so a captured delivery replayed with fresh ids must land on the same key, and GitHub's
 * manual redelivery (same body) does too. Different actions of one alert (`created`, then
 * `reopened`) are different keys, and so is a second reopening, whose `updated_at` is newer.
 * The digest fits {@link GITHUB_DELIVERY_ID_PATTERN}, so the delivery log stores it as it stores
 * an id, whatever characters the repository name has.
 */
export function alertClaimKey(ref: AlertEventRef): string {
  const canonical = JSON.stringify([
    ref.repository.toLowerCase(),
    ref.alertNumber,
    ref.action,
    ref.updatedAt ?? null,
  ]);
  return `${ALERT_CLAIM_KEY_PREFIX}${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}

/** The `secret_scanning_alert` actions that mean "this secret is exposed now". */
export const REPORTED_ALERT_ACTIONS = ['created', 'reopened'] as const;

// GitHub sends lower-case hex; upper case is accepted because it names the same digest.
const SIGNATURE_HEADER_PATTERN = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Whether `header` (`X-Hub-Signature-256`) is `sha256=<hex HMAC-SHA256 of rawBody under secret>`.
 * The digests are compared in constant time; a missing or malformed header, or an empty secret
 * (which anyone could sign with), is simply false: this never throws.
 */
export function verifyGitHubSignature(
  rawBody: Buffer | string,
  header: string | undefined,
  secret: Secret,
): boolean {
  if (header === undefined || secret.length === 0) return false;
  const hex = SIGNATURE_HEADER_PATTERN.exec(header)?.[1];
  if (hex === undefined) return false;
  const expected = createHmac('sha256', secret.reveal()).update(rawBody).digest();
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The answer of {@link DeliveryLogPort.claim}. */
export type DeliveryClaim = 'claimed' | 'done' | 'in_progress';

/**
 * Which alert events were already handled, so a redelivered or replayed delivery publishes
 * nothing twice. The receiver claims under {@link alertClaimKey} (never under the delivery
 * header); a claim is taken before any work and either completed or released.
 */
export interface DeliveryLogPort {
  /**
   * Claims `key` for this invocation: `claimed` when nobody holds it (or its holder's claim is
   * stale: a crashed invocation), `done` when it was handled, `in_progress` when another
   * invocation holds a fresh claim.
   */
  claim(key: string, now: Date): Promise<DeliveryClaim>;
  /** Marks the key handled: every later claim answers `done`. */
  complete(key: string, now: Date): Promise<void>;
  /** Gives up this invocation's claim, so a redelivery may try again. */
  release(key: string): Promise<void>;
}

/** The leaked value of one alert, as the GitHub API returns it. */
export interface GitHubAlertSecret {
  readonly secret: Secret;
  /** The alert's page on GitHub, for responders. */
  readonly htmlUrl?: string;
}

/** The GitHub API, as the receiver needs it: the secret of one alert. */
export interface GitHubAlertsPort {
  /** `GET /repos/{owner}/{repo}/secret-scanning/alerts/{alert_number}`. */
  fetchAlertSecret(repoFullName: string, alertNumber: number): Promise<GitHubAlertSecret>;
}

/** Everything the receiver touches, injected. */
export interface GitHubWebhookDeps {
  /** The webhook's shared secret (read where it lives; the adapter may cache it). */
  webhookSecret(): Promise<Secret>;
  readonly alerts: GitHubAlertsPort;
  readonly fingerprints: FingerprintPort;
  readonly index: Pick<FingerprintIndexPort, 'findFingerprint'>;
  readonly events: EventBusPort;
  readonly deliveries: DeliveryLogPort;
  readonly clock: Clock;
  readonly logger: StepLogger;
}

/** One webhook delivery: headers with lower-cased names, and the body exactly as received. */
export interface GitHubWebhookRequest {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly rawBody: Buffer;
}

/** Why a delivery could not be handled now (the dependency that failed). */
export type GitHubWebhookFailure =
  | 'webhook_secret_unavailable'
  | 'delivery_log_unavailable'
  | 'alert_fetch_failed'
  | 'lookup_failed'
  | 'publish_failed';

/** The response body: small, and never holding a secret. */
export type GitHubWebhookResult =
  | { readonly result: 'pong' }
  | { readonly result: 'ignored'; readonly reason: 'event_not_handled' | 'action_not_handled' }
  | { readonly result: 'duplicate'; readonly state: 'done' | 'in_progress' }
  /** No indexed secret matched; the fingerprint went to the leak intake, which checks the unindexed ones. */
  | { readonly result: 'no_match'; readonly forwarded: true }
  | {
      readonly result: 'leak_reported';
      readonly clientId: string;
      readonly stage: FingerprintStage;
      readonly lastFour: string;
    }
  | { readonly result: 'unauthorized'; readonly reason: 'missing_signature' | 'invalid_signature' }
  | {
      readonly result: 'bad_request';
      readonly reason:
        | 'missing_delivery_id'
        | 'invalid_delivery_id'
        | 'missing_event'
        | 'invalid_json'
        | 'invalid_payload';
      /** `path: code` of each schema problem, never a value. */
      readonly issues?: readonly string[];
    }
  | { readonly result: 'unavailable'; readonly reason: GitHubWebhookFailure; readonly retryable: boolean };

/** The receiver's answer: an HTTP status and a JSON body. */
export interface GitHubWebhookResponse {
  readonly statusCode: number;
  readonly body: GitHubWebhookResult;
}

const RepositoryFullNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/, 'must be owner/repo');

/**
 * The part of a `secret_scanning_alert` payload the receiver uses. Not strict: GitHub adds fields
 * over time, and zod drops what it does not know.
 */
export const SecretScanningAlertPayloadSchema = z.object({
  action: z.string().min(1).max(64),
  alert: z.object({
    number: z.number().int().positive(),
    secret_type: z.string().max(200).optional(),
    html_url: z.string().max(2048).optional(),
    // Part of the claim key only; an unexpected shape must not cost a leak report, so it is dropped.
    updated_at: z.string().max(64).nullable().optional().catch(null),
  }),
  repository: z.object({ full_name: RepositoryFullNameSchema }),
});
export type SecretScanningAlertPayload = z.infer<typeof SecretScanningAlertPayloadSchema>;

const respond = (statusCode: number, body: GitHubWebhookResult): GitHubWebhookResponse => ({
  statusCode,
  body,
});

/**
 * Handles one delivery, in an order that keeps unauthenticated input from touching anything:
 * signature (401), delivery id and body (400), event and action (200 pong / ignored), then the
 * claim of the alert event ({@link alertClaimKey}: 200 duplicate, whatever the delivery id), the
 * alert's secret, its fingerprint and the ledger lookup (200 no_match, the fingerprint forwarded
 * to the intake), the event (200 leak_reported). A dependency failure after the claim releases
 * it and answers 502, so redelivering the same delivery from GitHub tries again.
 *
 * An entry in any stage is reported: a `previous` or `cancelled` secret may still authenticate
 * while the rotation that replaced it is finishing, and the leak intake knows the rotations.
 */
export async function handleGitHubWebhook(
  deps: GitHubWebhookDeps,
  request: GitHubWebhookRequest,
): Promise<GitHubWebhookResponse> {
  const { headers, rawBody } = request;
  const deliveryHeader = headers[GITHUB_WEBHOOK_HEADERS.delivery];
  // Logged only when it has the shape of an id: before the signature check it is anyone's text.
  const loggableDelivery =
    deliveryHeader !== undefined && GITHUB_DELIVERY_ID_PATTERN.test(deliveryHeader) ? deliveryHeader : null;

  const signature = headers[GITHUB_WEBHOOK_HEADERS.signature256];
  if (signature === undefined || signature === '') {
    deps.logger.warn('GitHub webhook refused: no signature', { deliveryId: loggableDelivery });
    return respond(401, { result: 'unauthorized', reason: 'missing_signature' });
  }
  let webhookSecret: Secret;
  try {
    webhookSecret = await deps.webhookSecret();
  } catch (error) {
    return unavailable(deps, 'webhook_secret_unavailable', error, { deliveryId: loggableDelivery });
  }
  if (!verifyGitHubSignature(rawBody, signature, webhookSecret)) {
    deps.logger.warn('GitHub webhook refused: invalid signature', { deliveryId: loggableDelivery });
    return respond(401, { result: 'unauthorized', reason: 'invalid_signature' });
  }

  if (deliveryHeader === undefined || deliveryHeader === '') {
    return badRequest(deps, null, { result: 'bad_request', reason: 'missing_delivery_id' });
  }
  if (loggableDelivery === null) {
    return badRequest(deps, null, { result: 'bad_request', reason: 'invalid_delivery_id' });
  }
  const deliveryId = loggableDelivery;
  const event = headers[GITHUB_WEBHOOK_HEADERS.event];
  if (event === undefined || event === '') {
    return badRequest(deps, deliveryId, { result: 'bad_request', reason: 'missing_event' });
  }
  const json = parseJsonBody(rawBody);
  if (json === INVALID_JSON) {
    return badRequest(deps, deliveryId, { result: 'bad_request', reason: 'invalid_json' });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return badRequest(deps, deliveryId, {
      result: 'bad_request',
      reason: 'invalid_payload',
      issues: ['(root): invalid_type'],
    });
  }

  if (event === 'ping') {
    deps.logger.info('GitHub webhook ping', { deliveryId });
    return respond(200, { result: 'pong' });
  }
  if (event !== 'secret_scanning_alert') {
    deps.logger.info('GitHub webhook ignored: event not handled', { deliveryId, event: event.slice(0, 64) });
    return respond(200, { result: 'ignored', reason: 'event_not_handled' });
  }
  const parsed = SecretScanningAlertPayloadSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.code}`,
    );
    return badRequest(deps, deliveryId, { result: 'bad_request', reason: 'invalid_payload', issues });
  }
  const payload = parsed.data;
  const alertRef = {
    deliveryId,
    repository: payload.repository.full_name,
    alertNumber: payload.alert.number,
    action: payload.action,
    ...(payload.alert.secret_type === undefined ? {} : { secretType: payload.alert.secret_type }),
  };
  if (!(REPORTED_ALERT_ACTIONS as readonly string[]).includes(payload.action)) {
    deps.logger.info('GitHub secret-scanning alert ignored: action not handled', alertRef);
    return respond(200, { result: 'ignored', reason: 'action_not_handled' });
  }

  const claimKey = alertClaimKey({
    repository: payload.repository.full_name,
    alertNumber: payload.alert.number,
    action: payload.action,
    updatedAt: payload.alert.updated_at,
  });
  const claimRef = { ...alertRef, claimKey };
  let claim: DeliveryClaim;
  try {
    claim = await deps.deliveries.claim(claimKey, deps.clock.now());
  } catch (error) {
    return unavailable(deps, 'delivery_log_unavailable', error, claimRef);
  }
  if (claim !== 'claimed') {
    // A redelivery, or a captured delivery replayed under a fresh id: GitHub is not asked again.
    deps.logger.info('GitHub secret-scanning alert event already handled', { ...claimRef, state: claim });
    return respond(200, { result: 'duplicate', state: claim });
  }
  return reportAlert(deps, claimKey, payload, claimRef);
}

/** After the claim: fetch, fingerprint, look up, publish; complete the claim or release it. */
async function reportAlert(
  deps: GitHubWebhookDeps,
  claimKey: string,
  payload: SecretScanningAlertPayload,
  alertRef: Readonly<Record<string, unknown>>,
): Promise<GitHubWebhookResponse> {
  let failure: GitHubWebhookFailure = 'alert_fetch_failed';
  let response: GitHubWebhookResponse;
  try {
    const fetched = await deps.alerts.fetchAlertSecret(payload.repository.full_name, payload.alert.number);
    failure = 'lookup_failed';
    const fingerprint = await deps.fingerprints.fingerprint(fetched.secret);
    const entry = await deps.index.findFingerprint(fingerprint);
    if (entry === null) {
      // Not in the index: most likely not ours, but a secret enrolled by hand is indexed only at
      // its first rotation. The leak intake, which may read the managed secrets (this internet-
      // facing function may not), matches the fingerprint against them and decides.
      failure = 'publish_failed';
      const reference = fetched.htmlUrl ?? payload.alert.html_url;
      await deps.events.publish({
        detailType: 'Secret Leak Detected',
        detail: {
          fingerprint,
          source: GITHUB_LEAK_SOURCE,
          ...(reference === undefined ? {} : { reference }),
          detectedAt: deps.clock.now().toISOString(),
        },
      });
      deps.logger.info(
        'GitHub secret-scanning alert matches no indexed secret: forwarded to the leak intake',
        alertRef,
      );
      response = respond(200, { result: 'no_match', forwarded: true });
    } else {
      failure = 'publish_failed';
      const reference = fetched.htmlUrl ?? payload.alert.html_url;
      await deps.events.publish({
        detailType: 'Secret Leak Detected',
        detail: {
          clientId: entry.clientId,
          fingerprint,
          source: GITHUB_LEAK_SOURCE,
          ...(reference === undefined ? {} : { reference }),
          detectedAt: deps.clock.now().toISOString(),
        },
      });
      deps.logger.warn('GitHub secret-scanning alert matches a managed secret: leak reported', {
        ...alertRef,
        clientId: entry.clientId,
        stage: entry.stage,
        lastFour: entry.lastFour,
      });
      response = respond(200, {
        result: 'leak_reported',
        clientId: entry.clientId,
        stage: entry.stage,
        lastFour: entry.lastFour,
      });
    }
  } catch (error) {
    try {
      await deps.deliveries.release(claimKey);
    } catch (releaseError) {
      // The claim goes stale and becomes claimable again; only the wait is longer.
      const released = toError(releaseError);
      deps.logger.warn('GitHub webhook delivery claim not released', {
        ...alertRef,
        error: released.name,
        errorMessage: released.message,
      });
    }
    return unavailable(deps, failure, error, alertRef);
  }
  try {
    await deps.deliveries.complete(claimKey, deps.clock.now());
  } catch (error) {
    // The work is done (the event is out): answering 502 would invite a second event. The claim
    // stays `processing` and only a redelivery after it goes stale could repeat the work.
    const failed = toError(error);
    deps.logger.warn('GitHub webhook delivery not marked done', {
      ...alertRef,
      error: failed.name,
      errorMessage: failed.message,
    });
  }
  return response;
}

function badRequest(
  deps: GitHubWebhookDeps,
  deliveryId: string | null,
  body: Extract<GitHubWebhookResult, { result: 'bad_request' }>,
): GitHubWebhookResponse {
  deps.logger.warn('GitHub webhook refused: bad request', {
    deliveryId,
    reason: body.reason,
    ...(body.issues === undefined ? {} : { issues: body.issues }),
  });
  return respond(400, body);
}

function unavailable(
  deps: GitHubWebhookDeps,
  reason: GitHubWebhookFailure,
  thrown: unknown,
  attributes: Readonly<Record<string, unknown>>,
): GitHubWebhookResponse {
  const error = toError(thrown);
  const retryable = (error as { retryable?: unknown }).retryable === true;
  // Our errors' messages name resources and codes only; that is what makes them loggable here.
  deps.logger.warn('GitHub webhook delivery failed; GitHub may redeliver it', {
    ...attributes,
    reason,
    error: error.name,
    errorMessage: error.message,
    retryable,
  });
  return respond(502, { result: 'unavailable', reason, retryable });
}

const INVALID_JSON = Symbol('invalid JSON');

/** The parsed body, or {@link INVALID_JSON} (a form-encoded webhook lands here too). */
function parseJsonBody(rawBody: Buffer): unknown {
  try {
    return JSON.parse(rawBody.toString('utf8')) as unknown;
  } catch {
    return INVALID_JSON;
  }
}
