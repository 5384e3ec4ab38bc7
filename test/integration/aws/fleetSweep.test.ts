import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import stytch from 'stytch';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from 'vitest';
import { DynamoLedger, ledgerTableDefinition } from '#adapters/aws/DynamoLedger.js';
import type { ClientKind } from '#core/model.js';
import type { ClientRegistration } from '#core/registry.js';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';
import { readSecretAgeEnv } from '#wiring/environment.js';
import { createSecretAgeDeps, secretAgePublisherHandler } from '#wiring/secretAgePublisher.js';
import { FakeClock, RecordingLogger } from '../../support/fakes.js';
import { type MotoServer, startMoto } from '../../support/moto.js';

// Placeholder values only: the sweep reads version metadata of the managed secrets, never a value.
const PLACEHOLDER = JSON.stringify({ enrolled: false });
const DAY = 86_400_000;

interface EmfDocument {
  readonly _aws: {
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/**
 * Scenario: the hourly fleet sweep (the secret-age publisher) as its Lambda builds it from its
 * environment, over moto (the ledger, the managed secrets, the Stytch credentials secret) and the
 * Stytch emulator through the real StytchClient. Each kind of drift is made the way it happens:
 * a rotation started at Stytch by hand and abandoned, a registered client deleted at Stytch, a
 * secret past its schedule, clients created at Stytch that nobody registered. moto dates every
 * version at the time of the call, so the sweep's clock is 40 days ahead: every secret is ~40 days
 * old, overdue on a 30-day rate, not on a 90-day one.
 */
describe('Function: secretAgePublisherHandler, the fleet sweep (moto + the Stytch emulator)', () => {
  let moto: MotoServer;
  let emulator: StytchEmulator;
  let sdk: InstanceType<typeof stytch.Client>;
  let doc: DynamoDBDocumentClient;
  let sm: SecretsManagerClient;
  let stdout: MockInstance<typeof process.stdout.write>;

  const emf = (): EmfDocument[] =>
    stdout.mock.calls
      .flatMap(([chunk]) => String(chunk).split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as EmfDocument);

  beforeAll(async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined); // the SDK's one warning about env
    [moto, emulator] = await Promise.all([startMoto(), StytchEmulator.start()]);
    sdk = new stytch.Client({
      project_id: emulator.projectId,
      secret: emulator.projectSecret,
      env: `${emulator.url}/`,
    });
    doc = moto.clients.dynamoDbDocument();
    sm = moto.clients.secretsManager();
  });

  afterAll(async () => {
    doc?.destroy();
    sm?.destroy();
    vi.restoreAllMocks();
    await Promise.all([moto?.stop(), emulator?.stop()]);
  });

  beforeEach(() => {
    // What RotatorFunction and RotatorMonitoring set on the publisher.
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'StytchM2MRotator');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'stytch-m2m-rotator');
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    stdout.mockRestore();
    vi.unstubAllEnvs();
    emulator.faults.clear();
  });

  /**
   * A fresh ledger table, secret prefix and Stytch credentials secret (in moto), and the sweep's
   * handler over them as a container builds it: its environment, real clients, real EMF.
   */
  async function world() {
    const tableName = `ledger-${randomUUID()}`;
    const prefix = `rotator-it-${randomUUID().slice(0, 8)}/m2m`;
    const raw = moto.clients.dynamoDb();
    await raw.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
    raw.destroy();
    const credentialsSecret = `stytch/project-${randomUUID().slice(0, 8)}`;
    await sm.send(
      new CreateSecretCommand({
        Name: credentialsSecret,
        SecretString: JSON.stringify({ project_id: emulator.projectId, secret: emulator.projectSecret }),
      }),
    );
    const ledger = new DynamoLedger({ client: doc, tableName });
    const clock = new FakeClock(new Date(Date.now() + 40 * DAY).toISOString());
    const logger = new RecordingLogger();
    const env = readSecretAgeEnv({
      ROTATOR_TABLE_NAME: tableName,
      ROTATOR_SECRET_PREFIX: prefix,
      ROTATOR_SECRET_AGE_MARGIN_DAYS: '1',
      ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: '31',
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: credentialsSecret,
      ROTATOR_STYTCH_BASE_URL: emulator.url,
    });
    const handler = secretAgePublisherHandler(() =>
      createSecretAgeDeps(env, { logger, secretsManager: sm, dynamoDocument: doc, clock }),
    );
    /** Registers `clientId` as `rotator apply` does, with its managed secret. */
    const register = async (clientId: string, clientKind: ClientKind, expression: string) => {
      const registration: ClientRegistration = {
        clientId,
        clientKind,
        name: clientId,
        scopes: [],
        expectedConsumers: [],
        schedule: { expression, timeZone: 'UTC', scheduleName: `rotate-${clientId}` },
        secretId: `${prefix}/${clientId}`,
        registeredAt: new Date().toISOString(),
        registeredBy: 'arn:aws:iam::123456789012:user/ops',
        registrar: 'apply',
      };
      await ledger.putRegistration(registration);
      await sm.send(new CreateSecretCommand({ Name: `${prefix}/${clientId}`, SecretString: PLACEHOLDER }));
    };
    const logged = () => logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    return { ledger, clock, handler, register, logged };
  }

  const m2mClient = async (name: string): Promise<string> =>
    (await sdk.m2m.clients.create({ scopes: ['read:fleet'], client_name: name })).m2m_client.client_id;

  it('finds each kind of drift, publishes it with the ages, records it in the ledger, and only searches Stytch', async () => {
    // Prepare: the healthy ones.
    const w = await world();
    const healthy = await m2mClient('healthy');
    await w.register(healthy, 'm2m', 'rate(90 days)');
    const { connected_app: portal } = await sdk.connectedApp.clients.create({
      client_type: 'first_party',
      client_name: 'managed portal',
    });
    await w.register(portal.client_id, 'connected_app', 'rate(90 days)');
    // A rotation in flight: started at Stytch, its lock held (past the sweep's clock).
    const rotating = await m2mClient('rotating');
    await w.register(rotating, 'm2m', 'rate(90 days)');
    await sdk.m2m.clients.secrets.rotateStart({ client_id: rotating });
    await w.ledger.acquireLock(
      {
        clientId: rotating,
        rotationId: randomUUID(),
        expiresAt: new Date(w.clock.now().getTime() + 3_600_000).toISOString(),
      },
      new Date(),
    );
    // Mid-rotation at Stytch, abandoned: started there by hand, no lock at all.
    const abandoned = await m2mClient('abandoned');
    await w.register(abandoned, 'm2m', 'rate(90 days)');
    await sdk.m2m.clients.secrets.rotateStart({ client_id: abandoned });
    // Mid-rotation at Stytch, its rotation's lock expired.
    const expired = await m2mClient('expired lock');
    await w.register(expired, 'm2m', 'rate(90 days)');
    await sdk.m2m.clients.secrets.rotateStart({ client_id: expired });
    await w.ledger.acquireLock(
      { clientId: expired, rotationId: randomUUID(), expiresAt: new Date(Date.now() + 60_000).toISOString() },
      new Date(),
    );
    // Missing at Stytch: registered, then deleted there.
    const deleted = await m2mClient('deleted');
    await w.register(deleted, 'm2m', 'rate(90 days)');
    await sdk.m2m.clients.delete({ client_id: deleted });
    // Overdue: a 30-day rate, 40 days old.
    const overdue = await m2mClient('overdue');
    await w.register(overdue, 'm2m', 'rate(30 days)');
    // Unmanaged: created at Stytch, never registered; one of each kind.
    const stranger = await m2mClient('stranger');
    const { connected_app: partner } = await sdk.connectedApp.clients.create({
      client_type: 'third_party',
      client_name: 'unmanaged partner',
    });
    emulator.clearRequestLog();

    // Act
    const summary = await w.handler({});

    // Assess: the counts and samples.
    const sweep = {
      sweptAt: w.clock.now().toISOString(),
      managedClients: 7,
      unmeasured: 0,
      overdue: 1,
      midRotationAtStytch: 2,
      missingAtStytch: 1,
      unmanaged: 2,
      samples: {
        overdue: [overdue],
        midRotationAtStytch: [abandoned, expired].sort(),
        missingAtStytch: [deleted],
        unmanaged: [partner.client_id, stranger].sort(),
      },
    };
    expect(summary).toMatchObject({ clients: 7, overdueCount: 1, problemCount: 0, sweep, recorded: true });
    expect(summary.overdue).toEqual([{ clientId: overdue, ageDays: 40, thresholdDays: 31 }]);
    // The metrics: one EMF document, no dimension.
    const documents = emf();
    expect(documents).toHaveLength(1);
    expect(documents[0]?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'StytchM2MRotator',
        Dimensions: [[]],
        Metrics: [
          { Name: 'SecretsOverdue', Unit: 'Count' },
          { Name: 'ManagedClients', Unit: 'Count' },
          { Name: 'SecretsUnmeasured', Unit: 'Count' },
          { Name: 'DriftMidRotation', Unit: 'Count' },
          { Name: 'DriftMissingAtStytch', Unit: 'Count' },
          { Name: 'UnmanagedClients', Unit: 'Count' },
        ],
      },
    ]);
    const { _aws, ...values } = documents[0] ?? { _aws: undefined };
    expect(values).toEqual({
      SecretsOverdue: 1,
      ManagedClients: 7,
      SecretsUnmeasured: 0,
      DriftMidRotation: 2,
      DriftMissingAtStytch: 1,
      UnmanagedClients: 2,
    });
    // The ledger item, as `rotator status --fleet` reads it.
    expect(await w.ledger.getFleetSweep()).toEqual(sweep);
    // It touched nothing at Stytch: one search of each kind (fewer than 1,000 clients: one page).
    expect(emulator.requestLog().map((request) => `${request.route} ${request.status}`)).toEqual(
      expect.arrayContaining(['m2m.clients.search 200', 'connectedApps.clients.search 200']),
    );
    expect(emulator.requestLog()).toHaveLength(2);
    const stillRotating = await sdk.m2m.clients.get({ client_id: abandoned });
    expect(stillRotating.m2m_client.next_client_secret_last_four).not.toBeNull();
    expect(w.logged()).toContainEqual({
      level: 'warn',
      message: 'Fleet drift at Stytch',
      midRotationAtStytch: 2,
      midRotationSample: [abandoned, expired].sort(),
      missingAtStytch: 1,
      missingSample: [deleted],
    });
  });

  it('still publishes and records the ages when Stytch rate-limits the search, without drift, and does not fail', async () => {
    // Prepare: one request, then 429s with a Retry-After longer than the client waits.
    const w = await world();
    const overdue = await m2mClient('overdue when throttled');
    await w.register(overdue, 'm2m', 'rate(30 days)');
    emulator.faults.setRateLimit({ requestsPerSecond: 0.01, burst: 1, retryAfterSeconds: 120 });
    emulator.clearRequestLog();

    // Act
    const summary = await w.handler({});

    // Assess
    expect(summary.sweep).toMatchObject({
      managedClients: 1,
      overdue: 1,
      midRotationAtStytch: null,
      missingAtStytch: null,
      unmanaged: null,
      samples: { overdue: [overdue], midRotationAtStytch: [], missingAtStytch: [], unmanaged: [] },
      stytchProblem: expect.stringMatching(
        /^StytchRateLimitedError: Stytch POST .*search failed with HTTP 429/,
      ),
    });
    const documents = emf();
    expect(documents.map(({ _aws, ...values }) => values)).toEqual([
      { SecretsOverdue: 1, ManagedClients: 1, SecretsUnmeasured: 0 },
    ]);
    expect(await w.ledger.getFleetSweep()).toEqual(summary.sweep);
    expect(emulator.requestLog().some((request) => request.status === 429)).toBe(true);
    expect(emulator.requestLog().every((request) => request.route?.endsWith('.clients.search'))).toBe(true);
  });
});
