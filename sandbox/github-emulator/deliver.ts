import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { Secret } from '#core/secret.js';

/** How {@link deliverGitHubWebhook} signs the delivery. */
export type DeliverySignature = 'valid' | 'invalid' | 'missing';

/** Options of {@link deliverGitHubWebhook}. */
export interface DeliverGitHubWebhookOptions {
  /** The receiver's URL (a Function URL, or the sandbox's {@link WebhookListener}). */
  readonly url: string;
  /** The webhook's shared secret. */
  readonly webhookSecret: Secret | string;
  /** `X-GitHub-Event`, e.g. `secret_scanning_alert` or `ping`. */
  readonly event: string;
  /** The payload, sent as JSON. Ignored when `rawBody` is given. */
  readonly payload?: unknown;
  /** The exact body to send instead of `payload` (a malformed one, say); it is signed as it is. */
  readonly rawBody?: string | Buffer;
  /**
   * `X-GitHub-Delivery`; null sends none.
   * @default - a new UUID
   */
  readonly deliveryId?: string | null;
  /**
   * `valid`: HMAC-SHA256 of the body under `webhookSecret`, as GitHub signs; `invalid`: the right
   * shape under another secret; `missing`: no signature headers at all.
   * @default 'valid'
   */
  readonly signature?: DeliverySignature;
}

/** The receiver's answer. */
export interface DeliveryResult {
  readonly status: number;
  /** The parsed JSON body, or the text when it is not JSON. */
  readonly body: unknown;
  /** The `X-GitHub-Delivery` sent (null when none was). */
  readonly deliveryId: string | null;
}

/**
 * Posts one webhook delivery the way GitHub does: JSON body, `X-GitHub-Event`,
 * `X-GitHub-Delivery`, the hook headers, `X-Hub-Signature-256` (and the legacy SHA-1
 * `X-Hub-Signature`), GitHub's User-Agent. Redeliver by passing the same `deliveryId`.
 */
export async function deliverGitHubWebhook(options: DeliverGitHubWebhookOptions): Promise<DeliveryResult> {
  const body =
    options.rawBody === undefined
      ? Buffer.from(JSON.stringify(options.payload ?? {}), 'utf8')
      : Buffer.isBuffer(options.rawBody)
        ? options.rawBody
        : Buffer.from(options.rawBody, 'utf8');
  const deliveryId = options.deliveryId === undefined ? randomUUID() : options.deliveryId;
  const secret = Secret.from(options.webhookSecret);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/emulated',
    'x-github-event': options.event,
    'x-github-hook-id': '1',
    'x-github-hook-installation-target-type': 'repository',
    'x-github-hook-installation-target-id': '1',
  };
  if (deliveryId !== null) headers['x-github-delivery'] = deliveryId;
  const signature = options.signature ?? 'valid';
  if (signature !== 'missing') {
    // A random key of the same kind: well-formed, and wrong.
    const key = signature === 'valid' ? secret.reveal() : randomBytes(32).toString('hex');
    headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
    headers['x-hub-signature'] = `sha1=${createHmac('sha1', key).update(body).digest('hex')}`;
  }
  const response = await request(options.url, { method: 'POST', headers, body });
  const text = await response.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the text itself is the answer.
  }
  return { status: response.statusCode, body: parsed, deliveryId };
}
