import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  type EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DELIVERY_CLAIM_TIMEOUT_MS,
  DELIVERY_PK_PREFIX,
  DELIVERY_RETENTION_SECONDS,
  DELIVERY_SK,
  DeliveryIdFormatError,
  DynamoDeliveryLog,
} from '#adapters/aws/DynamoDeliveryLog.js';
import { DynamoLedger, ledgerTableDefinition } from '#adapters/aws/index.js';
import { GitHubAlerts, GitHubApiError, GitHubTimeoutError } from '#adapters/github/GitHubAlerts.js';
import { EVENT_SOURCES } from '#core/events.js';
import { fingerprintOf } from '#core/fingerprint.js';
import { alertClaimKey, type GitHubWebhookDeps } from '#core/githubWebhook.js';
import { Secret } from '#core/secret.js';
import {
  deliverGitHubWebhook,
  GitHubEmulator,
  MAX_WEBHOOK_BODY_BYTES,
  WebhookListener,
} from '#sandbox/github-emulator/index.js';
import { readGitHubWebhookEnv } from '#wiring/environment.js';
import { createGitHubWebhookDeps, createGitHubWebhookHandler } from '#wiring/githubWebhook.js';
import { RecordingLogger } from '../support/fakes.js';
import { awsJson, drainQueue, type MotoServer, startMoto } from '../support/moto.js';

const TABLE = 'rotator-ledger';
const BUS = 'rotator-bus';
const CLIENT = 'm2m-client-test-webhook-billing';
const REPO = 'acme/billing-service';
const FINGERPRINT_KEY = `fp-key-${randomBytes(24).toString('hex')}`;
const WEBHOOK_SECRET = `whsec-${randomBytes(24).toString('hex')}`;
const LEAKED = `secret-test-LEAK-${randomBytes(18).toString('base64url')}`;
const UNRELATED = `ghp_unrelated-${randomBytes(18).toString('base64url')}`;

describe('GitHub secret-scanning webhook (moto + GitHub emulator + the real handler)', () => {
  let moto: MotoServer;
  let secretsManager: SecretsManagerClient;
  let doc: DynamoDBDocumentClient;
  let eventBridge: EventBridgeClient;
  let github: GitHubEmulator;
  let listener: WebhookListener;
  let deps: GitHubWebhookDeps;
  let queueUrl: string;
  const logger = new RecordingLogger();
  /** Everything the run exposed outside Secrets Manager and the emulator: checked last. */
  const observed: unknown[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    secretsManager = moto.clients.secretsManager();
    doc = moto.clients.dynamoDbDocument();
    eventBridge = moto.clients.eventBridge();
    const raw = moto.clients.dynamoDb();
    await raw.send(new CreateTableCommand(ledgerTableDefinition(TABLE)));
    raw.destroy();

    github = await GitHubEmulator.start();
    const secretArn = async (Name: string, SecretString: string): Promise<string> => {
      const { ARN } = await secretsManager.send(new CreateSecretCommand({ Name, SecretString }));
      if (ARN === undefined) throw new Error(`moto created ${Name} without an ARN`);
      return ARN;
    };
    const env = readGitHubWebhookEnv({
      ROTATOR_TABLE_NAME: TABLE,
      ROTATOR_EVENT_BUS_NAME: BUS,
      ROTATOR_FINGERPRINT_KEY_SECRET_ID: await secretArn('rotator/fingerprint-key', FINGERPRINT_KEY),
      ROTATOR_GITHUB_WEBHOOK_SECRET_ID: await secretArn('rotator/github-webhook-secret', WEBHOOK_SECRET),
      ROTATOR_GITHUB_TOKEN_SECRET_ID: await secretArn('rotator/github-token', github.token),
      ROTATOR_GITHUB_API_URL: github.url,
    });

    // The leak events' route out of moto: bus → rule on the detail-type → SQS.
    ({ QueueUrl: queueUrl } = await awsJson<{ QueueUrl: string }>(
      moto.endpoint,
      'sqs',
      'AmazonSQS.CreateQueue',
      { QueueName: 'leak-events' },
    ));
    const { Attributes } = await awsJson<{ Attributes: { QueueArn: string } }>(
      moto.endpoint,
      'sqs',
      'AmazonSQS.GetQueueAttributes',
      { QueueUrl: queueUrl, AttributeNames: ['QueueArn'] },
    );
    await eventBridge.send(new CreateEventBusCommand({ Name: BUS }));
    await eventBridge.send(
      new PutRuleCommand({
        Name: 'leaks',
        EventBusName: BUS,
        EventPattern: JSON.stringify({ 'detail-type': ['Secret Leak Detected'] }),
      }),
    );
    await eventBridge.send(
      new PutTargetsCommand({
        Rule: 'leaks',
        EventBusName: BUS,
        Targets: [{ Id: 'q', Arn: Attributes.QueueArn }],
      }),
    );

    deps = createGitHubWebhookDeps(env, {
      logger,
      clients: { secretsManager, dynamoDocument: doc, eventBridge },
    });
    listener = await WebhookListener.start({ handler: createGitHubWebhookHandler(() => deps) });

    // The index entry the rotation would have written when it stored the leaked secret.
    await new DynamoLedger({ client: doc, tableName: TABLE }).putFingerprint({
      fingerprint: fingerprintOf(new Secret(FINGERPRINT_KEY), LEAKED),
      clientId: CLIENT,
      clientKind: 'm2m',
      stage: 'current',
      versionId: randomUUID(),
      lastFour: LEAKED.slice(-4),
      updatedAt: new Date().toISOString(),
    });
  });

  afterAll(async () => {
    await listener?.close();
    if (deps?.alerts instanceof GitHubAlerts) await deps.alerts.close();
    await github?.close();
    secretsManager?.destroy();
    doc?.destroy();
    eventBridge?.destroy();
    await moto?.stop();
  });

  /** Every leak event now in the queue (deleted as read), bodies parsed. */
  const drainLeakEvents = (): Promise<Record<string, unknown>[]> =>
    drainQueue(moto.endpoint, queueUrl, observed);

  /** The delivery log's item under `key` (a claim key, or an id in the adapter's own tests). */
  async function deliveryItem(key: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await doc.send(
      new GetCommand({
        TableName: TABLE,
        Key: { pk: `${DELIVERY_PK_PREFIX}${key}`, sk: DELIVERY_SK },
      }),
    );
    observed.push(Item);
    return Item;
  }

  /** How many delivery-log items the ledger holds. */
  async function deliveryItemCount(): Promise<number> {
    const { Items = [] } = await doc.send(
      new ScanCommand({
        TableName: TABLE,
        FilterExpression: 'begins_with(pk, :prefix)',
        ExpressionAttributeValues: { ':prefix': DELIVERY_PK_PREFIX },
      }),
    );
    return Items.length;
  }

  /** The claim key of the `created` delivery of an alert the emulator staged. */
  const createdKey = (repository: string, alertNumber: number): string =>
    alertClaimKey({ repository, alertNumber, action: 'created' });

  async function deliver(options: Omit<Parameters<typeof deliverGitHubWebhook>[0], 'url' | 'webhookSecret'>) {
    const result = await deliverGitHubWebhook({
      url: listener.url,
      webhookSecret: WEBHOOK_SECRET,
      ...options,
    });
    observed.push(result);
    return result;
  }

  describe('a created alert for a managed secret', () => {
    const deliveryId = randomUUID();
    let alert: ReturnType<GitHubEmulator['addAlert']>;

    it('answers leak_reported and puts Secret Leak Detected on the bus, for the client, by fingerprint', async () => {
      // Prepare
      alert = github.addAlert({ repository: REPO, secret: LEAKED });
      const startedAt = Date.now();

      // Act
      const result = await deliver({ event: 'secret_scanning_alert', payload: alert.payload, deliveryId });

      // Assess
      expect(result).toEqual({
        status: 200,
        deliveryId,
        body: { result: 'leak_reported', clientId: CLIENT, stage: 'current', lastFour: LEAKED.slice(-4) },
      });
      const events = await drainLeakEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        // Who speaks: the webhook's own source, which only its role may use; the audit text stays.
        source: EVENT_SOURCES.githubWebhook,
        'detail-type': 'Secret Leak Detected',
        detail: {
          clientId: CLIENT,
          fingerprint: fingerprintOf(new Secret(FINGERPRINT_KEY), LEAKED),
          source: 'github-secret-scanning',
          reference: alert.htmlUrl,
        },
      });
      const detail = (events[0]?.detail ?? {}) as Record<string, unknown>;
      expect(Date.parse(String(detail.detectedAt))).toBeGreaterThanOrEqual(startedAt - 1000);
      // Claimed under the alert event the signed body names, not under the delivery header.
      expect(await deliveryItem(deliveryId)).toBeUndefined();
      const item = await deliveryItem(createdKey(REPO, alert.number));
      expect(item).toMatchObject({ status: 'done' });
      expect(Number(item?.ttl)).toBeGreaterThanOrEqual(
        Math.floor(startedAt / 1000) + DELIVERY_RETENTION_SECONDS - 5,
      );
      expect(github.requestLog().at(-1)).toMatchObject({
        method: 'GET',
        path: `/repos/${REPO}/secret-scanning/alerts/${alert.number}`,
        status: 200,
        authorized: true,
      });
    });

    it('answers duplicate to the replayed delivery, without asking GitHub or publishing again', async () => {
      // Prepare
      const githubCalls = github.requestLog().length;

      // Act
      const replay = await deliver({ event: 'secret_scanning_alert', payload: alert.payload, deliveryId });

      // Assess
      expect(replay).toMatchObject({ status: 200, body: { result: 'duplicate', state: 'done' } });
      expect(await drainLeakEvents()).toEqual([]);
      expect(github.requestLog()).toHaveLength(githubCalls);
    });

    it('answers duplicate to the same body replayed under fresh delivery ids: no GitHub call, no event', async () => {
      // Prepare: the delivery id is not signed, so a captured delivery can be sent with new ones.
      const githubCalls = github.requestLog().length;

      // Act
      const replays = [];
      for (let i = 0; i < 3; i += 1) {
        replays.push(await deliver({ event: 'secret_scanning_alert', payload: alert.payload }));
      }

      // Assess
      for (const replay of replays) {
        expect(replay).toMatchObject({ status: 200, body: { result: 'duplicate', state: 'done' } });
      }
      expect(await drainLeakEvents()).toEqual([]);
      expect(github.requestLog()).toHaveLength(githubCalls);
    });

    it('reports the reopening of the same alert: another action is another event', async () => {
      // Act
      const reopened = await deliver({
        event: 'secret_scanning_alert',
        payload: { ...alert.payload, action: 'reopened' },
      });

      // Assess
      expect(reopened).toMatchObject({ status: 200, body: { result: 'leak_reported', clientId: CLIENT } });
      expect(await drainLeakEvents()).toHaveLength(1);
    });
  });

  it('drives the whole path from outside: stage through the admin route, deliver a hand-written body, replay it', async () => {
    // Prepare: what docs/sandbox.md's shell example does, with the same minimal body.
    const staged = await request(`${github.url}/__emulator/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        repository: 'acme/from-a-shell',
        number: 7,
        secret: LEAKED,
        secret_type: 'stytch_m2m_client_secret',
      }),
    });
    const stagedBody = await staged.body.json();
    const body = '{"action":"created","alert":{"number":7},"repository":{"full_name":"acme/from-a-shell"}}';
    const githubCalls = github.requestLog().length;

    // Act
    const first = await deliver({ event: 'secret_scanning_alert', rawBody: body, deliveryId: 'shell-1' });
    const replay = await deliver({ event: 'secret_scanning_alert', rawBody: body, deliveryId: 'shell-2' });

    // Assess
    expect({ status: staged.statusCode, body: stagedBody }).toEqual({ status: 201, body: { number: 7 } });
    expect(first).toMatchObject({ status: 200, body: { result: 'leak_reported', clientId: CLIENT } });
    expect(replay).toMatchObject({ status: 200, body: { result: 'duplicate', state: 'done' } });
    expect(github.requestLog()).toHaveLength(githubCalls + 1);
    const events = await drainLeakEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: EVENT_SOURCES.githubWebhook,
      detail: { clientId: CLIENT, source: 'github-secret-scanning' },
    });
  });

  it.each(['invalid', 'missing'] as const)(
    'answers 401 to a %s signature and writes no delivery item',
    async (signature) => {
      // Prepare
      const alert = github.addAlert({ repository: REPO, secret: LEAKED });
      const githubCalls = github.requestLog().length;
      const items = await deliveryItemCount();

      // Act
      const result = await deliver({
        event: 'secret_scanning_alert',
        payload: alert.payload,
        signature,
      });

      // Assess
      expect(result).toMatchObject({
        status: 401,
        body: { result: 'unauthorized', reason: `${signature}_signature` },
      });
      expect(await deliveryItem(createdKey(REPO, alert.number))).toBeUndefined();
      expect(await deliveryItemCount()).toBe(items);
      expect(github.requestLog()).toHaveLength(githubCalls);
      expect(await drainLeakEvents()).toEqual([]);
    },
  );

  it('answers 400 to a malformed body and writes no delivery item', async () => {
    // Prepare
    const items = await deliveryItemCount();

    // Act
    const result = await deliver({
      event: 'secret_scanning_alert',
      rawBody: '{"action":"created","alert":{"number":1},"repository":',
    });

    // Assess
    expect(result).toMatchObject({ status: 400, body: { result: 'bad_request', reason: 'invalid_json' } });
    expect(await deliveryItemCount()).toBe(items);
  });

  it('answers 400 to a payload without alert.number and writes no delivery item', async () => {
    // Prepare
    const { payload } = github.addAlert({ repository: REPO, secret: LEAKED });
    const alert = { ...(payload.alert as Record<string, unknown>), number: undefined };
    const items = await deliveryItemCount();

    // Act
    const result = await deliver({
      event: 'secret_scanning_alert',
      payload: { ...payload, alert },
    });

    // Assess
    expect(result).toMatchObject({
      status: 400,
      body: { result: 'bad_request', reason: 'invalid_payload', issues: ['alert.number: invalid_type'] },
    });
    expect(await deliveryItemCount()).toBe(items);
  });

  it('answers no_match for an unknown secret, forwarding only its fingerprint, the delivery done', async () => {
    // Prepare
    const alert = github.addAlert({
      repository: 'acme/website',
      secret: UNRELATED,
      secretType: 'github_personal_access_token',
    });
    const deliveryId = randomUUID();

    // Act
    const result = await deliver({ event: 'secret_scanning_alert', payload: alert.payload, deliveryId });

    // Assess
    expect(result).toMatchObject({ status: 200, body: { result: 'no_match', forwarded: true } });
    const forwarded = await drainLeakEvents();
    expect(forwarded).toHaveLength(1);
    expect(JSON.stringify(forwarded)).not.toContain(UNRELATED);
    expect(JSON.stringify(forwarded)).not.toContain('"clientId"');
    expect(forwarded[0]).toMatchObject({ source: EVENT_SOURCES.githubWebhook });
    expect(await deliveryItem(createdKey('acme/website', alert.number))).toMatchObject({ status: 'done' });
  });

  it('answers 502 when GitHub fails, releases the claim, and reports on redelivery', async () => {
    // Prepare
    const alert = github.addAlert({ repository: REPO, secret: LEAKED });
    const deliveryId = randomUUID();
    github.failNext(503);

    // Act
    const failed = await deliver({ event: 'secret_scanning_alert', payload: alert.payload, deliveryId });
    const itemAfterFailure = await deliveryItem(createdKey(REPO, alert.number));
    const redelivered = await deliver({ event: 'secret_scanning_alert', payload: alert.payload, deliveryId });

    // Assess
    expect(failed).toMatchObject({
      status: 502,
      body: { result: 'unavailable', reason: 'alert_fetch_failed', retryable: true },
    });
    expect(itemAfterFailure).toBeUndefined();
    expect(redelivered).toMatchObject({ status: 200, body: { result: 'leak_reported', clientId: CLIENT } });
    expect(await drainLeakEvents()).toHaveLength(1);
    expect(logger.lines.join('\n')).toContain(
      `GitHub GET /repos/{owner}/{repo}/secret-scanning/alerts/{alert_number} for ${REPO} alert #${alert.number} failed with HTTP 503`,
    );
  });

  it('answers pong to a ping and ignores other actions', async () => {
    // Prepare
    const { payload } = github.addAlert({ repository: REPO, secret: LEAKED });

    // Act
    const ping = await deliver({
      event: 'ping',
      payload: { zen: 'Non-blocking is better than blocking.', hook_id: 1 },
    });
    const resolved = await deliver({
      event: 'secret_scanning_alert',
      payload: { ...payload, action: 'resolved' },
    });

    // Assess
    expect(ping).toMatchObject({ status: 200, body: { result: 'pong' } });
    expect(resolved).toMatchObject({
      status: 200,
      body: { result: 'ignored', reason: 'action_not_handled' },
    });
    expect(await drainLeakEvents()).toEqual([]);
  });

  describe('the listener (the Function URL stand-in)', () => {
    it('answers 405 to a GET and 413 to a body over 1 MiB, without invoking the handler', async () => {
      // Prepare
      const linesBefore = logger.lines.length;

      // Act
      const get = await request(listener.url, { method: 'GET' });
      await get.body.text();
      const huge = await request(listener.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.alloc(MAX_WEBHOOK_BODY_BYTES + 1, 0x20),
      });
      await huge.body.text();

      // Assess
      expect(get.statusCode).toBe(405);
      expect(huge.statusCode).toBe(413);
      expect(logger.lines).toHaveLength(linesBefore);
    });
  });

  describe('Class: DynamoDeliveryLog (moto)', () => {
    const log = () => new DynamoDeliveryLog({ client: doc, tableName: TABLE });
    const t0 = new Date('2030-01-01T00:00:00.000Z');

    it('claims once; a fresh claim is in progress for others, a stale one is taken over', async () => {
      // Prepare
      const id = randomUUID();

      // Act
      const first = await log().claim(id, t0);
      const concurrent = await log().claim(id, new Date(t0.getTime() + 60_000));
      const afterCrash = await log().claim(id, new Date(t0.getTime() + DELIVERY_CLAIM_TIMEOUT_MS + 1));

      // Assess
      expect([first, concurrent, afterCrash]).toEqual(['claimed', 'in_progress', 'claimed']);
    });

    it('answers done after complete, and release leaves a done delivery done', async () => {
      // Prepare
      const id = randomUUID();
      const deliveries = log();
      await deliveries.claim(id, t0);

      // Act
      await deliveries.complete(id, t0);
      await deliveries.release(id);
      const later = await log().claim(id, new Date(t0.getTime() + 3_600_000));

      // Assess
      expect(later).toBe('done');
      expect(await deliveryItem(id)).toMatchObject({
        status: 'done',
        ttl: Math.floor(t0.getTime() / 1000) + DELIVERY_RETENTION_SECONDS,
      });
    });

    it('releases only its own claim, not one another invocation took over', async () => {
      // Prepare
      const id = randomUUID();
      const crashed = log();
      const successor = log();
      await crashed.claim(id, t0);
      await successor.claim(id, new Date(t0.getTime() + DELIVERY_CLAIM_TIMEOUT_MS + 1));

      // Act
      await crashed.release(id);

      // Assess
      expect(await deliveryItem(id)).toMatchObject({ status: 'processing' });
      await successor.release(id);
      expect(await deliveryItem(id)).toBeUndefined();
    });

    it.each(['', 'a#b', 'x'.repeat(101), 'GITHUB_DELIVERY#1', '../1'])(
      'refuses the delivery id %j before any DynamoDB call',
      async (id) => {
        await expect(log().claim(id, t0)).rejects.toBeInstanceOf(DeliveryIdFormatError);
      },
    );
  });

  describe('Class: GitHubAlerts (GitHub emulator)', () => {
    it('fetches the alert’s secret as a Secret, with its page', async () => {
      // Prepare
      const alert = github.addAlert({ repository: 'acme/tools', secret: LEAKED });
      const alerts = new GitHubAlerts({ token: new Secret(github.token), apiUrl: github.url });

      // Act
      const fetched = await alerts.fetchAlertSecret('acme/tools', alert.number);
      await alerts.close();

      // Assess
      expect(fetched.secret).toBeInstanceOf(Secret);
      expect(fetched.secret.equals(LEAKED)).toBe(true);
      expect(fetched.htmlUrl).toBe(alert.htmlUrl);
      observed.push(fetched, JSON.stringify(fetched));
    });

    it.each([
      ['a wrong token', 'ghp_wrong-token-0123456789', 1, 401],
      ['an unknown alert', undefined, 9999, 404],
    ])(
      'throws a permanent GitHubApiError for %s, naming the repository and alert only',
      async (_case, token, number, status) => {
        // Prepare
        github.addAlert({ repository: 'acme/perms', secret: LEAKED });
        const alerts = new GitHubAlerts({ token: new Secret(token ?? github.token), apiUrl: github.url });

        // Act
        const error = await alerts.fetchAlertSecret('acme/perms', number).catch((e: unknown) => e);
        await alerts.close();
        observed.push(error, inspect(error, { showHidden: true, depth: Number.POSITIVE_INFINITY }));

        // Assess
        expect(error).toBeInstanceOf(GitHubApiError);
        expect(error).toMatchObject({
          statusCode: status,
          retryable: false,
          repository: 'acme/perms',
          alertNumber: number,
        });
        expect((error as Error).message).toMatch(
          new RegExp(`acme/perms alert #${number} failed with HTTP ${status}`),
        );
        expect((error as Error).message).not.toContain(token ?? github.token);
      },
    );

    it('throws a retryable GitHubApiError for a 503', async () => {
      // Prepare
      const alert = github.addAlert({ repository: 'acme/flaky', secret: LEAKED });
      github.failNext(503);
      const alerts = new GitHubAlerts({ token: new Secret(github.token), apiUrl: github.url });

      // Act
      const error = await alerts.fetchAlertSecret('acme/flaky', alert.number).catch((e: unknown) => e);
      await alerts.close();

      // Assess
      expect(error).toBeInstanceOf(GitHubApiError);
      expect(error).toMatchObject({ statusCode: 503, retryable: true });
    });

    it('throws a retryable GitHubTimeoutError when GitHub does not answer in time', async () => {
      // Prepare: a server that accepts and never answers.
      const silent: Server = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as AddressInfo;
      const alerts = new GitHubAlerts({
        token: new Secret(github.token),
        apiUrl: `http://127.0.0.1:${port}`,
        timeoutMs: 200,
      });

      // Act
      const error = await alerts.fetchAlertSecret('acme/slow', 1).catch((e: unknown) => e);
      await alerts.close();
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));

      // Assess
      expect(error).toBeInstanceOf(GitHubTimeoutError);
      expect(error).toMatchObject({ retryable: true, repository: 'acme/slow', alertNumber: 1 });
      expect((error as Error).message).toMatch(/timed out after 200 ms/);
    });
  });

  it('refuses the token secret’s placeholder without asking GitHub: 502, and the log says what to do', async () => {
    // Prepare: a second receiver whose token secret still holds what the CDK app creates.
    const { ARN } = await secretsManager.send(
      new CreateSecretCommand({
        Name: 'rotator/github-token-placeholder',
        SecretString: JSON.stringify({ configured: false, placeholder: randomBytes(8).toString('hex') }),
      }),
    );
    const placeholderLogger = new RecordingLogger();
    const placeholderDeps = createGitHubWebhookDeps(
      readGitHubWebhookEnv({
        ROTATOR_TABLE_NAME: TABLE,
        ROTATOR_EVENT_BUS_NAME: BUS,
        ROTATOR_FINGERPRINT_KEY_SECRET_ID: 'rotator/fingerprint-key',
        ROTATOR_GITHUB_WEBHOOK_SECRET_ID: 'rotator/github-webhook-secret',
        ROTATOR_GITHUB_TOKEN_SECRET_ID: ARN ?? 'missing',
        ROTATOR_GITHUB_API_URL: github.url,
      }),
      { logger: placeholderLogger, clients: { secretsManager, dynamoDocument: doc, eventBridge } },
    );
    const placeholderListener = await WebhookListener.start({
      handler: createGitHubWebhookHandler(() => placeholderDeps),
    });
    const alert = github.addAlert({ repository: REPO, secret: LEAKED });
    const githubCalls = github.requestLog().length;

    // Act
    const result = await deliverGitHubWebhook({
      url: placeholderListener.url,
      webhookSecret: WEBHOOK_SECRET,
      event: 'secret_scanning_alert',
      payload: alert.payload,
    });
    await placeholderListener.close();
    if (placeholderDeps.alerts instanceof GitHubAlerts) await placeholderDeps.alerts.close();
    observed.push(result, placeholderLogger.lines.join('\n'));

    // Assess
    expect(result).toMatchObject({
      status: 502,
      body: { result: 'unavailable', reason: 'alert_fetch_failed', retryable: false },
    });
    expect(github.requestLog()).toHaveLength(githubCalls);
    expect(placeholderLogger.lines.join('\n')).toMatch(/still holds its placeholder/);
    expect(await deliveryItem(createdKey(REPO, alert.number))).toBeUndefined();
  });

  it('never lets the leaked value, the webhook secret, the token or the key out', async () => {
    // Prepare
    const { Items = [] } = await doc.send(new ScanCommand({ TableName: TABLE }));
    observed.push(Items, logger.lines.join('\n'), github.requestLog());
    const text = observed
      .map((value) =>
        typeof value === 'string'
          ? value
          : inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      )
      .join('\n');

    // Assess
    expect(text).toContain('leak_reported');
    expect(Items.length).toBeGreaterThan(5);
    for (const secret of [LEAKED, UNRELATED, WEBHOOK_SECRET, github.token, FINGERPRINT_KEY]) {
      expect(text).not.toContain(secret);
    }
  });
});
