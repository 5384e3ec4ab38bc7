import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { RotatorError } from '#core/errors.js';
import type { FingerprintEntry, FingerprintStage } from '#core/fingerprint.js';
import {
  alertClaimKey,
  type DeliveryClaim,
  type DeliveryLogPort,
  GITHUB_DELIVERY_ID_PATTERN,
  GITHUB_LEAK_SOURCE,
  type GitHubAlertSecret,
  type GitHubAlertsPort,
  type GitHubWebhookDeps,
  type GitHubWebhookRequest,
  type GitHubWebhookResponse,
  handleGitHubWebhook,
  verifyGitHubSignature,
} from '#core/githubWebhook.js';
import { Secret } from '#core/secret.js';
import { EnvironmentError, readGitHubWebhookEnv } from '#wiring/environment.js';
import { createGitHubWebhookHandler } from '#wiring/githubWebhook.js';
import {
  FAKE_FINGERPRINT_KEY,
  FakeClock,
  FakeEventBus,
  FakeFingerprints,
  FakeLedger,
  RecordingLogger,
} from '../../support/fakes.js';

const WEBHOOK_SECRET = 'whsec-unit-test-5f0c1d2e3a4b5c6d7e8f';
const LEAKED = 'secret-test-LEAKED-VALUE-9a8b7c6d5e4f3a2b1c0d';
const UNKNOWN = 'ghp_not-a-managed-secret-00112233445566778899';
const CLIENT = 'm2m-client-test-billing-worker';
const REPO = 'acme/payments-api';
const HTML_URL = `https://github.com/${REPO}/security/secret-scanning/7`;
/** What a delivery of alert 7's creation is claimed under, whatever its delivery id. */
const CREATED_7 = alertClaimKey({ repository: REPO, alertNumber: 7, action: 'created' });

/** Everything any test exposed: no secret may be in any of it (checked last). */
const observed: unknown[] = [];

/** The delivery log's contract in memory, with the stale-claim rule and one-shot faults. */
class FakeDeliveryLog implements DeliveryLogPort {
  readonly #items = new Map<string, { status: 'processing' | 'done'; claimedAtMs: number }>();
  public readonly calls: string[] = [];
  public failClaim: Error | undefined;
  public failComplete: Error | undefined;

  public async claim(deliveryId: string, now: Date): Promise<DeliveryClaim> {
    this.calls.push(`claim:${deliveryId}`);
    if (this.failClaim) throw this.failClaim;
    const held = this.#items.get(deliveryId);
    if (held?.status === 'done') return 'done';
    if (held !== undefined && held.claimedAtMs >= now.getTime() - 5 * 60_000) return 'in_progress';
    this.#items.set(deliveryId, { status: 'processing', claimedAtMs: now.getTime() });
    return 'claimed';
  }

  public async complete(deliveryId: string): Promise<void> {
    this.calls.push(`complete:${deliveryId}`);
    if (this.failComplete) throw this.failComplete;
    const held = this.#items.get(deliveryId);
    this.#items.set(deliveryId, { status: 'done', claimedAtMs: held?.claimedAtMs ?? 0 });
  }

  public async release(deliveryId: string): Promise<void> {
    this.calls.push(`release:${deliveryId}`);
    if (this.#items.get(deliveryId)?.status === 'processing') this.#items.delete(deliveryId);
  }

  public statusOf(deliveryId: string): string | undefined {
    return this.#items.get(deliveryId)?.status;
  }

  public dump(): string {
    return JSON.stringify([...this.#items]);
  }
}

/** GitHub's alert API in memory: alerts by repository and number, and one-shot failures. */
class FakeAlerts implements GitHubAlertsPort {
  readonly #alerts = new Map<string, { secret: string; htmlUrl?: string }>();
  readonly #failures: Error[] = [];
  public readonly calls: string[] = [];

  public add(repository: string, number: number, secret: string, htmlUrl?: string): void {
    this.#alerts.set(`${repository}#${number}`, { secret, ...(htmlUrl === undefined ? {} : { htmlUrl }) });
  }

  public failNext(error: Error): void {
    this.#failures.push(error);
  }

  public async fetchAlertSecret(repoFullName: string, alertNumber: number): Promise<GitHubAlertSecret> {
    this.calls.push(`${repoFullName}#${alertNumber}`);
    const failure = this.#failures.shift();
    if (failure) throw failure;
    const alert = this.#alerts.get(`${repoFullName}#${alertNumber}`);
    if (!alert) throw new RotatorError(`GitHub: no alert ${alertNumber} in ${repoFullName}`);
    return {
      secret: new Secret(alert.secret),
      ...(alert.htmlUrl === undefined ? {} : { htmlUrl: alert.htmlUrl }),
    };
  }
}

function setup() {
  const ledger = new FakeLedger();
  const events = new FakeEventBus();
  const deliveries = new FakeDeliveryLog();
  const alerts = new FakeAlerts();
  const fingerprints = new FakeFingerprints();
  const logger = new RecordingLogger();
  const clock = new FakeClock('2030-03-01T09:00:00.000Z');
  const secretReads = { count: 0, fail: undefined as Error | undefined };
  const deps: GitHubWebhookDeps = {
    webhookSecret: async () => {
      secretReads.count += 1;
      if (secretReads.fail) throw secretReads.fail;
      return new Secret(WEBHOOK_SECRET);
    },
    alerts,
    fingerprints,
    index: ledger,
    events,
    deliveries,
    clock,
    logger,
  };
  alerts.add(REPO, 7, LEAKED, HTML_URL);
  alerts.add(REPO, 8, UNKNOWN);
  const enrol = async (secret: string, stage: FingerprintStage = 'current'): Promise<FingerprintEntry> => {
    const entry: FingerprintEntry = {
      fingerprint: await fingerprints.fingerprint(secret),
      clientId: CLIENT,
      clientKind: 'm2m',
      stage,
      versionId: '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b',
      lastFour: secret.slice(-4),
      updatedAt: '2030-02-01T00:00:00.000Z',
    };
    await ledger.putFingerprint(entry);
    return entry;
  };
  const send = async (request: GitHubWebhookRequest): Promise<GitHubWebhookResponse> => {
    const response = await handleGitHubWebhook(deps, request);
    observed.push(response, JSON.stringify(response));
    return response;
  };
  const capture = () => {
    observed.push(logger.lines.join('\n'), JSON.stringify(events.events), deliveries.dump(), ledger.dump());
  };
  return { deps, ledger, events, deliveries, alerts, logger, clock, secretReads, enrol, send, capture };
}

function sign(body: Buffer | string, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function alertPayload(
  overrides: { action?: string; number?: number; updatedAt?: string } = {},
): Record<string, unknown> {
  return {
    action: overrides.action ?? 'created',
    alert: {
      number: overrides.number ?? 7,
      secret_type: 'stytch_m2m_client_secret',
      html_url: HTML_URL,
      state: 'open',
      ...(overrides.updatedAt === undefined ? {} : { updated_at: overrides.updatedAt }),
    },
    repository: { id: 1, full_name: REPO, private: true },
    sender: { login: 'github' },
  };
}

interface DeliveryOptions {
  readonly event?: string | null;
  readonly deliveryId?: string | null;
  readonly signature?: string | null;
  readonly body?: string;
}

/** A request as GitHub sends it; `null` leaves a header out, `signature` overrides the valid one. */
function delivery(payload: unknown, options: DeliveryOptions = {}): GitHubWebhookRequest {
  const rawBody = Buffer.from(options.body ?? JSON.stringify(payload));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const event = options.event === undefined ? 'secret_scanning_alert' : options.event;
  if (event !== null) headers['x-github-event'] = event;
  const deliveryId =
    options.deliveryId === undefined ? '72d3162e-cc78-11e3-81ab-4c9367dc0958' : options.deliveryId;
  if (deliveryId !== null) headers['x-github-delivery'] = deliveryId;
  const signature = options.signature === undefined ? sign(rawBody) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return { headers, rawBody };
}

describe('Function: verifyGitHubSignature', () => {
  const secret = new Secret(WEBHOOK_SECRET);
  const body = Buffer.from('{"zen":"Design for failure."}');

  it('accepts the HMAC-SHA256 of the exact body under the secret, from a Buffer or a string', () => {
    expect(verifyGitHubSignature(body, sign(body), secret)).toBe(true);
    expect(verifyGitHubSignature(body.toString('utf8'), sign(body), secret)).toBe(true);
    expect(verifyGitHubSignature(body, sign(body).toUpperCase().replace('SHA256=', 'sha256='), secret)).toBe(
      true,
    );
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['under another secret', sign(body, 'another-webhook-secret-0000')],
    ['for another body', sign('{"zen":"Keep it logically awesome."}')],
    ['with the SHA-1 prefix', sign(body).replace('sha256=', 'sha1=')],
    ['without a prefix', sign(body).slice('sha256='.length)],
    ['one hex digit short', sign(body).slice(0, -1)],
    ['one byte long', `${sign(body)}00`],
    ['not hex', `sha256=${'zz'.repeat(32)}`],
    ['with trailing space', `${sign(body)} `],
    ['two values joined', `${sign(body)},${sign(body)}`],
  ])('rejects a signature %s without throwing', (_case, header) => {
    expect(verifyGitHubSignature(body, header, secret)).toBe(false);
  });

  it('rejects everything under an empty secret, which anyone could sign with', () => {
    expect(verifyGitHubSignature(body, sign(body, ''), new Secret(''))).toBe(false);
  });
});

describe('Function: alertClaimKey', () => {
  const created7 = { repository: REPO, alertNumber: 7, action: 'created' };

  it('is a SHA-256 of the alert event that fits the delivery-id pattern, whatever the repository name', () => {
    // Act
    const key = alertClaimKey({ ...created7, repository: 'my_org.io/repo.with_dots' });

    // Assess
    expect(key).toMatch(/^alert-[0-9a-f]{64}$/);
    expect(GITHUB_DELIVERY_ID_PATTERN.test(key)).toBe(true);
  });

  it('is the same for the same alert event, the repository compared without case as GitHub does', () => {
    expect(alertClaimKey({ ...created7, repository: 'ACME/Payments-API' })).toBe(alertClaimKey(created7));
    expect(alertClaimKey({ ...created7, updatedAt: null })).toBe(alertClaimKey(created7));
  });

  it.each([
    ['another repository', { repository: 'acme/other' }],
    ['another alert number', { alertNumber: 70 }],
    ['another action', { action: 'reopened' }],
    ['an updated_at', { updatedAt: '2030-03-02T10:30:00Z' }],
  ])('differs for %s', (_case, change) => {
    expect(alertClaimKey({ ...created7, ...change })).not.toBe(alertClaimKey(created7));
  });

  it('cannot be steered by a repository name shaped like the separator', () => {
    // JSON keeps the parts apart: no choice of names makes two events collide.
    expect(alertClaimKey({ repository: 'a/b","7', alertNumber: 1, action: 'created' })).not.toBe(
      alertClaimKey({ repository: 'a/b', alertNumber: 71, action: 'created' }),
    );
  });
});

describe('Function: handleGitHubWebhook', () => {
  it('reports a created alert for a managed secret: one Secret Leak Detected, the delivery done', async () => {
    // Prepare
    const t = setup();
    const entry = await t.enrol(LEAKED);

    // Act
    const response = await t.send(delivery(alertPayload()));

    // Assess
    expect(response).toEqual({
      statusCode: 200,
      body: { result: 'leak_reported', clientId: CLIENT, stage: 'current', lastFour: LEAKED.slice(-4) },
    });
    expect(t.events.events).toEqual([
      {
        detailType: 'Secret Leak Detected',
        detail: {
          clientId: CLIENT,
          fingerprint: entry.fingerprint,
          source: GITHUB_LEAK_SOURCE,
          reference: HTML_URL,
          detectedAt: '2030-03-01T09:00:00.000Z',
        },
      },
    ]);
    expect(t.alerts.calls).toEqual([`${REPO}#7`]);
    expect(t.deliveries.calls).toEqual([`claim:${CREATED_7}`, `complete:${CREATED_7}`]);
    expect(t.deliveries.statusOf(CREATED_7)).toBe('done');
    t.capture();
  });

  it('reports a reopened alert the same way', async () => {
    // Prepare
    const t = setup();
    await t.enrol(LEAKED);

    // Act
    const response = await t.send(delivery(alertPayload({ action: 'reopened' })));

    // Assess
    expect(response.body).toMatchObject({ result: 'leak_reported', clientId: CLIENT });
    expect(t.events.types()).toEqual(['Secret Leak Detected']);
    t.capture();
  });

  it.each(['pending', 'previous', 'cancelled'] as const)(
    'reports a %s secret too: it may still authenticate, and the leak intake decides',
    async (stage) => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED, stage);

      // Act
      const response = await t.send(delivery(alertPayload()));

      // Assess
      expect(response.body).toEqual({
        result: 'leak_reported',
        clientId: CLIENT,
        stage,
        lastFour: LEAKED.slice(-4),
      });
      expect(t.events.events).toHaveLength(1);
      t.capture();
    },
  );

  it('uses the payload’s html_url as the reference when the API gives none', async () => {
    // Prepare
    const t = setup();
    t.alerts.add(REPO, 9, LEAKED);
    await t.enrol(LEAKED);

    // Act
    await t.send(delivery(alertPayload({ number: 9 })));

    // Assess
    expect(t.events.events[0]?.detail).toMatchObject({ reference: HTML_URL });
    t.capture();
  });

  describe('refused before anything is touched', () => {
    it.each([
      ['missing', null, 'missing_signature'],
      ['empty', '', 'missing_signature'],
      [
        'under another secret',
        sign(JSON.stringify(alertPayload()), 'not-the-webhook-secret-123'),
        'invalid_signature',
      ],
      ['for another body', sign(JSON.stringify(alertPayload({ number: 8 }))), 'invalid_signature'],
      [
        'with a wrong prefix',
        sign(JSON.stringify(alertPayload())).replace('sha256', 'sha1'),
        'invalid_signature',
      ],
      ['of a wrong length', `${sign(JSON.stringify(alertPayload()))}ab`, 'invalid_signature'],
    ])('answers 401 to a signature %s, with no claim, fetch or event', async (_case, signature, reason) => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);

      // Act
      const response = await t.send(delivery(alertPayload(), { signature }));

      // Assess
      expect(response).toEqual({ statusCode: 401, body: { result: 'unauthorized', reason } });
      expect(t.deliveries.calls).toEqual([]);
      expect(t.alerts.calls).toEqual([]);
      expect(t.events.events).toEqual([]);
      expect(t.logger.lines.some((line) => line.includes('refused'))).toBe(true);
      t.capture();
    });

    it('does not read the webhook secret for an unsigned delivery', async () => {
      // Prepare
      const t = setup();

      // Act
      await t.send(delivery(alertPayload(), { signature: null }));

      // Assess
      expect(t.secretReads.count).toBe(0);
    });

    it('answers 401 to an unsigned ping, and pong only when signed', async () => {
      // Prepare
      const t = setup();
      const ping = { zen: 'Anything added dilutes everything else.', hook_id: 1 };

      // Act
      const unsigned = await t.send(delivery(ping, { event: 'ping', signature: null }));
      const signed = await t.send(delivery(ping, { event: 'ping' }));

      // Assess
      expect(unsigned.statusCode).toBe(401);
      expect(signed).toEqual({ statusCode: 200, body: { result: 'pong' } });
      expect(t.deliveries.calls).toEqual([]);
    });

    it('never logs an unauthenticated delivery id that is not id-shaped', async () => {
      // Prepare
      const t = setup();

      // Act
      await t.send(
        delivery(alertPayload(), {
          signature: 'sha256=00',
          deliveryId: 'x"}\n{"level":"info","forged":true',
        }),
      );

      // Assess
      expect(t.logger.lines.join('\n')).not.toContain('forged');
    });
  });

  describe('bad requests (signed, so from GitHub, but unusable): 400 and no state change', () => {
    it.each([
      ['not JSON', { body: '{"action": "created", "alert": ' }, 'invalid_json', undefined],
      ['form-encoded', { body: 'payload=%7B%22action%22%3A%22created%22%7D' }, 'invalid_json', undefined],
      ['a JSON array', { body: '[1,2,3]' }, 'invalid_payload', ['(root): invalid_type']],
      ['empty', { body: '' }, 'invalid_json', undefined],
    ])('answers 400 to a body that is %s', async (_case, options, reason, issues) => {
      // Prepare
      const t = setup();

      // Act
      const response = await t.send(delivery(undefined, options));

      // Assess
      expect(response).toEqual({
        statusCode: 400,
        body: { result: 'bad_request', reason, ...(issues === undefined ? {} : { issues }) },
      });
      expect(t.deliveries.calls).toEqual([]);
      expect(t.events.events).toEqual([]);
      t.capture();
    });

    it.each([
      [
        'no alert number',
        { action: 'created', alert: { html_url: HTML_URL }, repository: { full_name: REPO } },
        ['alert.number: invalid_type'],
      ],
      [
        'a fractional alert number',
        { action: 'created', alert: { number: 1.5 }, repository: { full_name: REPO } },
        ['alert.number: invalid_type'],
      ],
      [
        'a repository that is not owner/repo',
        { action: 'created', alert: { number: 7 }, repository: { full_name: '../../admin' } },
        ['repository.full_name: invalid_format'],
      ],
      [
        'no alert and no repository',
        { action: 'created' },
        ['alert: invalid_type', 'repository: invalid_type'],
      ],
    ])(
      'answers 400 to a secret_scanning_alert with %s, naming paths only',
      async (_case, payload, issues) => {
        // Prepare
        const t = setup();

        // Act
        const response = await t.send(delivery(payload));

        // Assess
        expect(response).toEqual({
          statusCode: 400,
          body: { result: 'bad_request', reason: 'invalid_payload', issues },
        });
        expect(t.deliveries.calls).toEqual([]);
        expect(t.alerts.calls).toEqual([]);
      },
    );

    it.each([
      ['missing', null, 'missing_delivery_id'],
      ['empty', '', 'missing_delivery_id'],
      ['not id-shaped', 'GITHUB_DELIVERY#other', 'invalid_delivery_id'],
      ['too long', 'a'.repeat(101), 'invalid_delivery_id'],
    ])('answers 400 to a delivery id that is %s', async (_case, deliveryId, reason) => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);

      // Act
      const response = await t.send(delivery(alertPayload(), { deliveryId }));

      // Assess
      expect(response).toEqual({ statusCode: 400, body: { result: 'bad_request', reason } });
      expect(t.deliveries.calls).toEqual([]);
      expect(t.events.events).toEqual([]);
    });

    it('answers 400 to a delivery without X-GitHub-Event', async () => {
      // Prepare
      const t = setup();

      // Act
      const response = await t.send(delivery(alertPayload(), { event: null }));

      // Assess
      expect(response).toEqual({ statusCode: 400, body: { result: 'bad_request', reason: 'missing_event' } });
      expect(t.deliveries.calls).toEqual([]);
    });
  });

  describe('events and actions it does not handle', () => {
    it('answers pong to a ping', async () => {
      // Prepare
      const t = setup();

      // Act
      const response = await t.send(delivery({ zen: 'Speak like a human.', hook_id: 42 }, { event: 'ping' }));

      // Assess
      expect(response).toEqual({ statusCode: 200, body: { result: 'pong' } });
      expect(t.deliveries.calls).toEqual([]);
    });

    it('ignores another event with 200 and claims nothing', async () => {
      // Prepare
      const t = setup();

      // Act
      const response = await t.send(delivery({ ref: 'refs/heads/main' }, { event: 'push' }));

      // Assess
      expect(response).toEqual({ statusCode: 200, body: { result: 'ignored', reason: 'event_not_handled' } });
      expect(t.deliveries.calls).toEqual([]);
      expect(t.alerts.calls).toEqual([]);
    });

    it.each(['resolved', 'validated', 'publicly_leaked', 'assigned'])(
      'ignores the %s action with 200: no claim, no fetch, no event',
      async (action) => {
        // Prepare
        const t = setup();
        await t.enrol(LEAKED);

        // Act
        const response = await t.send(delivery(alertPayload({ action })));

        // Assess
        expect(response).toEqual({
          statusCode: 200,
          body: { result: 'ignored', reason: 'action_not_handled' },
        });
        expect(t.deliveries.calls).toEqual([]);
        expect(t.alerts.calls).toEqual([]);
        expect(t.events.events).toEqual([]);
      },
    );
  });

  describe('redelivery of the same delivery', () => {
    it('answers duplicate to a replayed delivery and publishes exactly one event', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);
      const request = delivery(alertPayload(), { deliveryId: 'a1b2c3d4-0000-4000-8000-000000000001' });

      // Act
      const first = await t.send(request);
      const replay = await t.send(request);

      // Assess
      expect(first.body).toMatchObject({ result: 'leak_reported' });
      expect(replay).toEqual({ statusCode: 200, body: { result: 'duplicate', state: 'done' } });
      expect(t.events.events).toHaveLength(1);
      expect(t.alerts.calls).toHaveLength(1);
      t.capture();
    });

    it('answers duplicate (in progress) while another invocation holds a fresh claim', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);
      await t.deliveries.claim(CREATED_7, t.clock.now());

      // Act
      const response = await t.send(
        delivery(alertPayload(), { deliveryId: 'a1b2c3d4-0000-4000-8000-000000000002' }),
      );

      // Assess
      expect(response).toEqual({ statusCode: 200, body: { result: 'duplicate', state: 'in_progress' } });
      expect(t.alerts.calls).toEqual([]);
      expect(t.events.events).toEqual([]);
    });

    it('takes over a stale claim (a crashed invocation) and reports', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);
      await t.deliveries.claim(CREATED_7, t.clock.now());
      t.clock.advance(6 * 60_000);

      // Act
      const response = await t.send(
        delivery(alertPayload(), { deliveryId: 'a1b2c3d4-0000-4000-8000-000000000003' }),
      );

      // Assess
      expect(response.body).toMatchObject({ result: 'leak_reported' });
      expect(t.events.events).toHaveLength(1);
    });
  });

  describe('replay protection keyed on the signed body (repository, alert, action), not X-GitHub-Delivery', () => {
    it('answers duplicate to the same body under a fresh delivery id: nothing published, GitHub asked once', async () => {
      // Prepare: the delivery id is a header the signature does not cover; anyone holding one
      // captured delivery can send it again with a new id.
      const t = setup();
      await t.enrol(LEAKED);
      const body = JSON.stringify(alertPayload());

      // Act
      const first = await t.send(
        delivery(undefined, { body, deliveryId: 'e0000000-0000-4000-8000-000000000001' }),
      );
      const replays = [];
      for (const id of ['e0000000-0000-4000-8000-000000000002', 'e0000000-0000-4000-8000-000000000003']) {
        replays.push(await t.send(delivery(undefined, { body, deliveryId: id })));
      }

      // Assess
      expect(first.body).toMatchObject({ result: 'leak_reported', clientId: CLIENT });
      expect(replays).toEqual([
        { statusCode: 200, body: { result: 'duplicate', state: 'done' } },
        { statusCode: 200, body: { result: 'duplicate', state: 'done' } },
      ]);
      expect(t.events.events).toHaveLength(1);
      expect(t.alerts.calls).toEqual([`${REPO}#7`]);
      t.capture();
    });

    it('answers duplicate (in progress) to the same body under a fresh id while the first is being handled', async () => {
      // Prepare: the first delivery waits on GitHub while its replay arrives.
      const t = setup();
      await t.enrol(LEAKED);
      const body = JSON.stringify(alertPayload());
      const fetch = t.alerts.fetchAlertSecret.bind(t.alerts);
      let letGitHubAnswer = (): void => undefined;
      const gitHubAnswers = new Promise<void>((resolve) => {
        letGitHubAnswer = resolve;
      });
      t.alerts.fetchAlertSecret = async (repository, number) => {
        await gitHubAnswers;
        return fetch(repository, number);
      };

      // Act
      const first = t.send(delivery(undefined, { body, deliveryId: 'e1000000-0000-4000-8000-000000000001' }));
      const replay = await t.send(
        delivery(undefined, { body, deliveryId: 'e1000000-0000-4000-8000-000000000002' }),
      );
      letGitHubAnswer();

      // Assess
      expect(replay).toEqual({ statusCode: 200, body: { result: 'duplicate', state: 'in_progress' } });
      expect((await first).body).toMatchObject({ result: 'leak_reported' });
      expect(t.events.events).toHaveLength(1);
      expect(t.alerts.calls).toHaveLength(1);
    });

    it('handles each action of an alert once: created, then reopened, are two reports', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);

      // Act
      const created = await t.send(
        delivery(alertPayload({ action: 'created' }), { deliveryId: 'e2000000-0000-4000-8000-000000000001' }),
      );
      const resolved = await t.send(
        delivery(alertPayload({ action: 'resolved' }), {
          deliveryId: 'e2000000-0000-4000-8000-000000000002',
        }),
      );
      const reopened = await t.send(
        delivery(alertPayload({ action: 'reopened' }), {
          deliveryId: 'e2000000-0000-4000-8000-000000000003',
        }),
      );
      const createdAgain = await t.send(
        delivery(alertPayload({ action: 'created' }), { deliveryId: 'e2000000-0000-4000-8000-000000000004' }),
      );

      // Assess
      expect(created.body).toMatchObject({ result: 'leak_reported' });
      expect(resolved.body).toEqual({ result: 'ignored', reason: 'action_not_handled' });
      expect(reopened.body).toMatchObject({ result: 'leak_reported' });
      expect(createdAgain.body).toEqual({ result: 'duplicate', state: 'done' });
      expect(t.events.events).toHaveLength(2);
      expect(t.alerts.calls).toHaveLength(2);
    });

    it('reports a second reopening (a new updated_at in the signed body), and not a replay of the first', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);
      const firstReopening = JSON.stringify(
        alertPayload({ action: 'reopened', updatedAt: '2030-03-01T09:00:00Z' }),
      );
      const secondReopening = JSON.stringify(
        alertPayload({ action: 'reopened', updatedAt: '2030-03-02T10:30:00Z' }),
      );

      // Act
      const first = await t.send(
        delivery(undefined, { body: firstReopening, deliveryId: 'e3000000-0000-4000-8000-000000000001' }),
      );
      const second = await t.send(
        delivery(undefined, { body: secondReopening, deliveryId: 'e3000000-0000-4000-8000-000000000002' }),
      );
      const replayOfFirst = await t.send(
        delivery(undefined, { body: firstReopening, deliveryId: 'e3000000-0000-4000-8000-000000000003' }),
      );

      // Assess
      expect(first.body).toMatchObject({ result: 'leak_reported' });
      expect(second.body).toMatchObject({ result: 'leak_reported' });
      expect(replayOfFirst.body).toEqual({ result: 'duplicate', state: 'done' });
      expect(t.events.events).toHaveLength(2);
    });

    it('reports an alert whose updated_at has an unexpected shape, claimed as if it had none', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);
      const payload = alertPayload();
      const body = JSON.stringify({ ...payload, alert: { ...(payload.alert as object), updated_at: 17 } });

      // Act
      const response = await t.send(delivery(undefined, { body }));

      // Assess
      expect(response.body).toMatchObject({ result: 'leak_reported' });
      expect(t.deliveries.calls).toEqual([`claim:${CREATED_7}`, `complete:${CREATED_7}`]);
    });

    it('after a 502, the same body under a new delivery id reports (the claim was released)', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);
      t.alerts.failNext(
        new RotatorError(`GitHub ${REPO} alert #7 failed with HTTP 503`, { retryable: true }),
      );
      const body = JSON.stringify(alertPayload());

      // Act
      const failed = await t.send(
        delivery(undefined, { body, deliveryId: 'e4000000-0000-4000-8000-000000000001' }),
      );
      const retried = await t.send(
        delivery(undefined, { body, deliveryId: 'e4000000-0000-4000-8000-000000000002' }),
      );
      const replay = await t.send(
        delivery(undefined, { body, deliveryId: 'e4000000-0000-4000-8000-000000000003' }),
      );

      // Assess
      expect(failed.statusCode).toBe(502);
      expect(retried.body).toMatchObject({ result: 'leak_reported' });
      expect(replay.body).toEqual({ result: 'duplicate', state: 'done' });
      expect(t.events.events).toHaveLength(1);
      expect(t.alerts.calls).toHaveLength(2);
    });
  });

  it('answers no_match for a secret not in the index, forwarding only its fingerprint to the leak intake', async () => {
    // Prepare
    const t = setup();
    await t.enrol(LEAKED);

    // Act
    const response = await t.send(
      delivery(alertPayload({ number: 8 }), { deliveryId: 'b0000000-0000-4000-8000-000000000001' }),
    );

    // Assess
    expect(response).toEqual({ statusCode: 200, body: { result: 'no_match', forwarded: true } });
    // No client named: the intake matches the fingerprint against the managed secrets itself.
    expect(t.events.events).toEqual([
      {
        detailType: 'Secret Leak Detected',
        detail: {
          fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
          source: 'github-secret-scanning',
          reference: expect.any(String),
          detectedAt: expect.any(String),
        },
      },
    ]);
    expect(
      t.deliveries.statusOf(alertClaimKey({ repository: REPO, alertNumber: 8, action: 'created' })),
    ).toBe('done');
    t.capture();
  });

  describe('dependency failures: 502, the claim released, a redelivery succeeds', () => {
    it('releases the claim when the alert fetch fails, so GitHub’s redelivery reports the leak', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);
      t.alerts.failNext(
        new RotatorError(`GitHub ${REPO} alert #7 failed with HTTP 503`, { retryable: true }),
      );
      const request = delivery(alertPayload(), { deliveryId: 'c0000000-0000-4000-8000-000000000001' });

      // Act
      const failed = await t.send(request);
      const redelivered = await t.send(request);

      // Assess
      expect(failed).toEqual({
        statusCode: 502,
        body: { result: 'unavailable', reason: 'alert_fetch_failed', retryable: true },
      });
      expect(t.deliveries.calls).toEqual([
        `claim:${CREATED_7}`,
        `release:${CREATED_7}`,
        `claim:${CREATED_7}`,
        `complete:${CREATED_7}`,
      ]);
      expect(redelivered.body).toMatchObject({ result: 'leak_reported', clientId: CLIENT });
      expect(t.events.events).toHaveLength(1);
      expect(t.logger.lines.join('\n')).toMatch(/HTTP 503/);
      t.capture();
    });

    it('reports a permanent fetch failure as not retryable (a bad token: GitHub redelivery after a fix)', async () => {
      // Prepare
      const t = setup();
      t.alerts.failNext(
        new RotatorError(`GitHub ${REPO} alert #7 failed with HTTP 401`, { retryable: false }),
      );

      // Act
      const response = await t.send(delivery(alertPayload()));

      // Assess
      expect(response.body).toEqual({
        result: 'unavailable',
        reason: 'alert_fetch_failed',
        retryable: false,
      });
      expect(t.deliveries.calls.at(-1)).toBe(`release:${CREATED_7}`);
    });

    it('releases the claim when publishing fails, and publishes on redelivery', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);
      const publish = t.events.publish.bind(t.events);
      let failures = 1;
      t.events.publish = async (...events) => {
        if (failures-- > 0)
          throw new RotatorError('EventBridge PutEvents failed: ThrottlingException', { retryable: true });
        return publish(...events);
      };
      const request = delivery(alertPayload(), { deliveryId: 'c0000000-0000-4000-8000-000000000002' });

      // Act
      const failed = await t.send(request);
      const redelivered = await t.send(request);

      // Assess
      expect(failed.body).toEqual({ result: 'unavailable', reason: 'publish_failed', retryable: true });
      expect(redelivered.body).toMatchObject({ result: 'leak_reported' });
      expect(t.events.events).toHaveLength(1);
      t.capture();
    });

    it('answers 502 when the ledger lookup fails', async () => {
      // Prepare
      const t = setup();
      t.ledger.findFingerprint = async () => {
        throw new RotatorError('DynamoDB GetItem failed: ProvisionedThroughputExceededException', {
          retryable: true,
        });
      };

      // Act
      const response = await t.send(delivery(alertPayload()));

      // Assess
      expect(response.body).toEqual({ result: 'unavailable', reason: 'lookup_failed', retryable: true });
      expect(t.deliveries.statusOf(CREATED_7)).toBeUndefined();
    });

    it('answers 502 without claiming when the webhook secret cannot be read', async () => {
      // Prepare
      const t = setup();
      t.secretReads.fail = new RotatorError('SecretsManager GetSecretValue failed: ThrottlingException', {
        retryable: true,
      });

      // Act
      const response = await t.send(delivery(alertPayload()));

      // Assess
      expect(response).toEqual({
        statusCode: 502,
        body: { result: 'unavailable', reason: 'webhook_secret_unavailable', retryable: true },
      });
      expect(t.deliveries.calls).toEqual([]);
    });

    it('answers 502 without fetching when the delivery log cannot claim', async () => {
      // Prepare
      const t = setup();
      t.deliveries.failClaim = new RotatorError('DynamoDB PutItem failed: InternalServerError', {
        retryable: true,
      });

      // Act
      const response = await t.send(delivery(alertPayload()));

      // Assess
      expect(response.body).toEqual({
        result: 'unavailable',
        reason: 'delivery_log_unavailable',
        retryable: true,
      });
      expect(t.alerts.calls).toEqual([]);
    });

    it('still answers leak_reported when marking the delivery done fails: the event is out', async () => {
      // Prepare
      const t = setup();
      await t.enrol(LEAKED);
      t.deliveries.failComplete = new RotatorError('DynamoDB UpdateItem failed: InternalServerError', {
        retryable: true,
      });

      // Act
      const response = await t.send(delivery(alertPayload()));

      // Assess
      expect(response.body).toMatchObject({ result: 'leak_reported' });
      expect(t.events.events).toHaveLength(1);
      expect(t.deliveries.calls).not.toContain(`release:${CREATED_7}`);
      expect(t.logger.lines.join('\n')).toMatch(/not marked done/);
      t.capture();
    });
  });
});

describe('Function: createGitHubWebhookHandler', () => {
  function functionUrlEvent(overrides: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
    const body = JSON.stringify({ zen: 'Mind your words, they are important.', hook_id: 3 });
    return {
      version: '2.0',
      routeKey: '$default',
      rawPath: '/',
      rawQueryString: '',
      headers: {
        'x-github-event': 'ping',
        'x-github-delivery': 'd0000000-0000-4000-8000-000000000001',
        'x-hub-signature-256': sign(body),
      },
      requestContext: { http: { method: 'POST' } } as APIGatewayProxyEventV2['requestContext'],
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
      ...overrides,
    };
  }

  it('verifies the signature over the base64-decoded body and answers JSON', async () => {
    // Prepare
    const t = setup();
    const handler = createGitHubWebhookHandler(() => t.deps);

    // Act
    const result = await handler(functionUrlEvent());

    // Assess
    expect(result).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"result":"pong"}',
    });
  });

  it('takes a plain-text body as it is, and header names in any case', async () => {
    // Prepare
    const t = setup();
    const handler = createGitHubWebhookHandler(() => t.deps);
    const body = '{"zen":"Approachable is better than simple."}';

    // Act
    const result = await handler(
      functionUrlEvent({
        body,
        isBase64Encoded: false,
        headers: {
          'X-GitHub-Event': 'ping',
          'X-GitHub-Delivery': 'd0000000-0000-4000-8000-000000000002',
          'X-Hub-Signature-256': sign(body),
        },
      }),
    );

    // Assess
    expect(result.statusCode).toBe(200);
  });

  it('answers 401 when a base64 body was altered after signing', async () => {
    // Prepare
    const t = setup();
    const handler = createGitHubWebhookHandler(() => t.deps);

    // Act
    const result = await handler(
      functionUrlEvent({ body: Buffer.from('{"zen":"tampered"}').toString('base64') }),
    );

    // Assess
    expect(result.statusCode).toBe(401);
  });

  it('answers 405 to anything but POST without calling the core', async () => {
    // Prepare
    const t = setup();
    const handler = createGitHubWebhookHandler(() => t.deps);

    // Act
    const result = await handler(
      functionUrlEvent({
        requestContext: { http: { method: 'GET' } } as APIGatewayProxyEventV2['requestContext'],
      }),
    );

    // Assess
    expect(result).toMatchObject({ statusCode: 405, body: '{"result":"method_not_allowed"}' });
    expect(t.secretReads.count).toBe(0);
  });

  it('answers 500 with a generic body when the core throws unexpectedly', async () => {
    // Prepare: a logger that fails where the core does not expect anything to fail.
    const t = setup();
    const warnings: string[] = [];
    const handler = createGitHubWebhookHandler(() => ({
      ...t.deps,
      logger: {
        info: () => {
          throw new TypeError('logger is broken');
        },
        warn: (message) => warnings.push(message),
      },
    }));

    // Act
    const result = await handler(functionUrlEvent());

    // Assess
    expect(result).toEqual({
      statusCode: 500,
      headers: { 'content-type': 'application/json' },
      body: '{"result":"error"}',
    });
    expect(warnings).toEqual(['GitHub webhook handler failed unexpectedly']);
  });
});

describe('Function: readGitHubWebhookEnv', () => {
  const GOOD_ENV = {
    ROTATOR_TABLE_NAME: 'ledger',
    ROTATOR_EVENT_BUS_NAME: 'stytch-m2m-rotator',
    ROTATOR_FINGERPRINT_KEY_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fp-AbCdEf',
    ROTATOR_GITHUB_WEBHOOK_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hook-AbCdEf',
    ROTATOR_GITHUB_TOKEN_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:token-AbCdEf',
  };

  it('reads the environment, defaulting the API URL to api.github.com', () => {
    expect(readGitHubWebhookEnv(GOOD_ENV)).toEqual({
      ...GOOD_ENV,
      ROTATOR_GITHUB_API_URL: 'https://api.github.com',
    });
  });

  it.each(['https://github.example.com/api/v3', 'http://127.0.0.1:4010', 'http://localhost:8080'])(
    'accepts the API URL %s',
    (url) => {
      expect(readGitHubWebhookEnv({ ...GOOD_ENV, ROTATOR_GITHUB_API_URL: url }).ROTATOR_GITHUB_API_URL).toBe(
        url,
      );
    },
  );

  it('names every missing or malformed variable at once', () => {
    // Act
    let error: unknown;
    try {
      readGitHubWebhookEnv({ ROTATOR_GITHUB_API_URL: 'http://api.github.com' });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(EnvironmentError);
    const issues = (error as EnvironmentError).issues;
    expect(issues.map((issue) => issue.split(':')[0])).toEqual([
      'ROTATOR_TABLE_NAME',
      'ROTATOR_EVENT_BUS_NAME',
      'ROTATOR_FINGERPRINT_KEY_SECRET_ID',
      'ROTATOR_GITHUB_WEBHOOK_SECRET_ID',
      'ROTATOR_GITHUB_TOKEN_SECRET_ID',
      'ROTATOR_GITHUB_API_URL',
    ]);
    expect(issues.at(-1)).toMatch(/https/);
  });

  it('refuses an API URL with credentials in it', () => {
    expect(() =>
      readGitHubWebhookEnv({ ...GOOD_ENV, ROTATOR_GITHUB_API_URL: 'https://x:y@api.github.com' }),
    ).toThrow(/ROTATOR_GITHUB_API_URL: must not hold credentials/);
  });
});

describe('Leak scan', () => {
  // Runs last (vitest runs a file's tests in order): everything the tests above captured.
  it('never lets the leaked value, another alert’s secret, the webhook secret or the key out', () => {
    // Prepare
    const text = observed
      .map((value) =>
        typeof value === 'string'
          ? value
          : inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      )
      .join('\n');

    // Assess
    expect(observed.length).toBeGreaterThan(40);
    expect(text).toContain('leak_reported');
    for (const secret of [LEAKED, UNKNOWN, WEBHOOK_SECRET, FAKE_FINGERPRINT_KEY.reveal()]) {
      expect(text).not.toContain(secret);
    }
  });
});
