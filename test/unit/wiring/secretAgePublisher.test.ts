import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { powertoolsSecretAgeMetrics } from '#adapters/powertools/secretAgeMetrics.js';
import type { FleetSweepRecord } from '#core/fleetSweep.js';
import type { ClientRegistration } from '#core/registry.js';
import type { SecretAgeCounts } from '#core/secretAge.js';
import {
  EnvironmentError,
  readSecretAgeEnv,
  SECRET_AGE_ENV,
  secretAgePublisherEnvironment,
} from '#wiring/environment.js';
import { secretAgePublisherHandler } from '#wiring/secretAgePublisher.js';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const MINUTE = 60_000;
const DAY = 86_400_000;
const TABLE = 'rotator-ledger';
const CREDENTIALS = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stytch/project-AbCdEf';
const DENIED = () =>
  Object.assign(new Error('denied'), {
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });

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

/** A registry item as `rotator register` writes it (ClientRegistryTable: `pk=REGISTRY#`, `sk=CLIENT#<id>`). */
function registryItem(clientId: string, expression?: string, flexibleWindowMinutes?: number) {
  const registration: ClientRegistration = {
    clientId,
    clientKind: 'm2m',
    name: clientId,
    scopes: [],
    expectedConsumers: ['api'],
    ...(expression === undefined
      ? {}
      : {
          schedule: {
            expression,
            timeZone: 'UTC',
            scheduleName: `rotate-${clientId}`,
            ...(flexibleWindowMinutes === undefined ? {} : { flexibleWindowMinutes }),
          },
        }),
    secretId: `stytch/m2m/${clientId}`,
    registeredAt: '2026-01-01T00:00:00.000Z',
    registeredBy: 'arn:aws:iam::123456789012:role/operator',
  };
  return { pk: 'REGISTRY#', sk: `CLIENT#${clientId}`, ...registration };
}

/** ListSecretVersionIds of a secret whose AWSCURRENT version is `createdMsAgo` old. */
function versions(createdMsAgo: number) {
  return {
    Versions: [
      {
        VersionId: 'v-old',
        VersionStages: ['AWSPREVIOUS'],
        CreatedDate: new Date(NOW.getTime() - 400 * DAY),
      },
      {
        VersionId: 'v-now',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: new Date(NOW.getTime() - createdMsAgo),
      },
    ],
  };
}

describe('Function: handler (secretAgePublisher)', () => {
  const sm = mockClient(SecretsManagerClient);
  const ddb = mockClient(DynamoDBDocumentClient);
  let stdout: MockInstance<typeof process.stdout.write>;
  let stderr: MockInstance<typeof process.stderr.write>;
  const linesOf = (spy: MockInstance<typeof process.stdout.write>): string[] =>
    spy.mock.calls.flatMap(([chunk]) => String(chunk).split('\n'));
  // EMF documents and info lines go to stdout, warn lines to stderr (Powertools writes console.warn there).
  const lines = (): string[] => [...linesOf(stdout), ...linesOf(stderr)];
  const emf = (): EmfDocument[] =>
    linesOf(stdout)
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as EmfDocument);
  const logLines = (message: string) =>
    lines()
      .filter((line) => line.includes(`"${message}"`))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  /** The handler of a fresh container (it builds its deps once, on the first invocation). */
  const freshHandler = async () => {
    vi.resetModules();
    return (await import('#handlers/secretAgePublisher.js')).handler;
  };
  const secret = (clientId: string) => ({ SecretId: `stytch/m2m/${clientId}` });

  beforeEach(() => {
    sm.reset();
    ddb.reset();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    // What RotatorFunction and RotatorMonitoring set on the publisher.
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'StytchM2MRotator');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'stytch-m2m-rotator');
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.stubEnv('ROTATOR_TABLE_NAME', TABLE);
    vi.stubEnv('ROTATOR_SECRET_PREFIX', 'stytch/m2m');
    vi.stubEnv('ROTATOR_SECRET_AGE_MARGIN_DAYS', '1');
    vi.stubEnv('ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS', '31');
    vi.stubEnv('ROTATOR_STYTCH_CREDENTIALS_SECRET_ID', CREDENTIALS);
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    stdout.mockRestore();
    stderr.mockRestore();
    vi.unstubAllEnvs();
    vi.useRealTimers();
    sm.reset();
    ddb.reset();
  });

  it('lists the registry, decides overdue at the threshold, and emits one EMF document of counts with no dimension, without drift when Stytch cannot be read', async () => {
    // Prepare: rate(7 days) + 1 d margin = 8 d; a cron takes the 31-day default: 32 d.
    ddb.on(QueryCommand).resolves({
      Items: [
        registryItem('m2m-client-test-at', 'rate(7 days)'),
        registryItem('m2m-client-test-cron', 'cron(0 3 ? * MON *)'),
        registryItem('m2m-client-test-past', 'rate(7 days)'),
      ],
    });
    sm.on(ListSecretVersionIdsCommand, secret('m2m-client-test-at')).resolves(versions(8 * DAY));
    sm.on(ListSecretVersionIdsCommand, secret('m2m-client-test-past')).resolves(
      versions(8 * DAY + 15 * MINUTE),
    );
    sm.on(ListSecretVersionIdsCommand, secret('m2m-client-test-cron')).resolves(versions(20 * DAY));
    // The publisher may not read the Stytch credentials: the ages still go out.
    sm.on(GetSecretValueCommand).rejects(DENIED());
    const handler = await freshHandler();

    // Act
    const summary = await handler({ 'detail-type': 'Scheduled Event' });

    // Assess
    const problem = `StytchCredentialsError: Stytch project credentials in ${CREDENTIALS}: cannot be read (AccessDeniedException)`;
    const sweep: FleetSweepRecord = {
      sweptAt: NOW.toISOString(),
      managedClients: 3,
      unmeasured: 0,
      overdue: 1,
      midRotationAtStytch: null,
      missingAtStytch: null,
      unmanaged: null,
      samples: {
        overdue: ['m2m-client-test-past'],
        midRotationAtStytch: [],
        missingAtStytch: [],
        unmanaged: [],
      },
      stytchProblem: problem,
    };
    expect(summary).toEqual({
      clients: 3,
      overdueCount: 1,
      overdue: [{ clientId: 'm2m-client-test-past', ageDays: 8.01, thresholdDays: 8 }],
      problemCount: 0,
      problems: [],
      sweep,
      recorded: true,
    });
    expect(sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: CREDENTIALS, VersionStage: 'AWSCURRENT' },
    ]);
    // The sweep's one item, replaced only by a later sweep.
    expect(ddb.commandCalls(PutCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Item: { pk: 'FLEET#', sk: 'SWEEP', ...sweep, sweptAtMs: NOW.getTime() },
        ConditionExpression: 'attribute_not_exists(pk) OR sweptAtMs <= :mine',
        ExpressionAttributeValues: { ':mine': NOW.getTime() },
      },
    ]);
    expect(logLines('Fleet drift not measured: Stytch could not be read')).toMatchObject([
      { level: 'WARN', errorMessage: problem },
    ]);
    expect(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :client)',
        ExpressionAttributeValues: { ':pk': 'REGISTRY#', ':client': 'CLIENT#' },
      }),
    ]);
    const documents = emf();
    expect(documents).toHaveLength(1);
    expect(documents[0]?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'StytchM2MRotator',
        // An empty dimension set: the metrics are published without dimensions, as the alarm watches them.
        Dimensions: [[]],
        Metrics: [
          { Name: 'SecretsOverdue', Unit: 'Count' },
          { Name: 'ManagedClients', Unit: 'Count' },
          { Name: 'SecretsUnmeasured', Unit: 'Count' },
        ],
      },
    ]);
    const { _aws, ...values } = documents[0] ?? { _aws: undefined };
    expect(values).toEqual({ SecretsOverdue: 1, ManagedClients: 3, SecretsUnmeasured: 0 });
    expect(logLines('Secrets overdue for rotation')).toMatchObject([
      {
        level: 'WARN',
        overdueCount: 1,
        overdue: [{ clientId: 'm2m-client-test-past', ageDays: 8.01, thresholdDays: 8 }],
      },
    ]);
  });

  it('counts a client whose secret cannot be read as a problem, and still measures and publishes the others', async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({
      Items: [registryItem('m2m-client-test-a', 'rate(30 days)'), registryItem('m2m-client-test-b')],
    });
    sm.on(ListSecretVersionIdsCommand, secret('m2m-client-test-a')).rejects(
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    sm.on(ListSecretVersionIdsCommand, secret('m2m-client-test-b')).resolves(versions(DAY));
    const handler = await freshHandler();

    // Act
    const { sweep: _sweep, recorded: _recorded, ...summary } = await handler({});

    // Assess
    expect(summary).toEqual({
      clients: 2,
      overdueCount: 0,
      overdue: [],
      problemCount: 1,
      problems: [
        {
          clientId: 'm2m-client-test-a',
          error: 'AwsServiceError',
          message:
            'SecretsManager ListSecretVersionIds on stytch/m2m/m2m-client-test-a failed: AccessDeniedException (HTTP 400)',
        },
      ],
    });
    expect(
      emf().map(({ SecretsOverdue, ManagedClients, SecretsUnmeasured }) => ({
        SecretsOverdue,
        ManagedClients,
        SecretsUnmeasured,
      })),
    ).toEqual([{ SecretsOverdue: 0, ManagedClients: 2, SecretsUnmeasured: 1 }]);
    expect(logLines('Secret ages not measured')).toMatchObject([
      {
        level: 'WARN',
        problemCount: 1,
        problems: [{ clientId: 'm2m-client-test-a', error: 'AwsServiceError' }],
      },
    ]);
  });

  it('fails the invocation, publishing nothing, when the registry cannot be listed', async () => {
    // Prepare
    ddb.on(QueryCommand).rejects(
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const handler = await freshHandler();

    // Act & Assess
    await expect(handler({})).rejects.toThrow(/DynamoDB Query .*AccessDeniedException/);
    expect(sm.commandCalls(ListSecretVersionIdsCommand)).toEqual([]);
    expect(emf()).toEqual([]);
  });

  it('stamps the Lambda context on its log line and emits ColdStart on the first invocation only', async () => {
    // Prepare
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    ddb.on(QueryCommand).resolves({ Items: [registryItem('m2m-client-test-a')] });
    sm.on(ListSecretVersionIdsCommand).resolves(versions(DAY));
    const handler = await freshHandler();
    const context = (awsRequestId: string) => ({
      functionName: 'StytchM2MRotator-SecretAgePublisher-AbCdEf123456',
      invokedFunctionArn:
        'arn:aws:lambda:us-east-1:123456789012:function:StytchM2MRotator-SecretAgePublisher-AbCdEf123456',
      memoryLimitInMB: '256',
      functionVersion: '$LATEST',
      awsRequestId,
    });

    // Act
    await handler({}, context('request-1'));
    await handler({}, context('request-2'));

    // Assess
    expect(logLines('Secret ages published')).toMatchObject([
      {
        function_name: 'StytchM2MRotator-SecretAgePublisher-AbCdEf123456',
        function_request_id: 'request-1',
        cold_start: true,
        clients: 1,
      },
      { function_request_id: 'request-2', cold_start: false },
    ]);
    const coldStarts = emf().filter((document) => 'ColdStart' in document);
    expect(coldStarts).toHaveLength(1);
    expect(coldStarts[0]).toMatchObject({
      function_name: 'StytchM2MRotator-SecretAgePublisher-AbCdEf123456',
      ColdStart: 1,
    });
    // One document of counts per run, never the cold start's dimensions on it.
    const counts = emf().filter((document) => 'SecretsOverdue' in document);
    expect(counts).toHaveLength(2);
    expect(counts.every((document) => !('service' in document) && !('function_name' in document))).toBe(true);
  });

  it('fails the invocation, naming the variable, when the environment is broken', async () => {
    // Prepare
    vi.stubEnv('ROTATOR_SECRET_AGE_MARGIN_DAYS', 'one');
    const handler = await freshHandler();

    // Act & Assess
    await expect(handler({})).rejects.toThrow(/ROTATOR_SECRET_AGE_MARGIN_DAYS/);
    expect(ddb.commandCalls(QueryCommand)).toEqual([]);
    expect(sm.commandCalls(ListSecretVersionIdsCommand)).toEqual([]);
  });

  it('adds the drift metrics to the same document when the sweep read Stytch', async () => {
    // Prepare: the real EMF adapter over a sweep whose Stytch holds one stranger and misses one client.
    const handler = secretAgePublisherHandler(() => ({
      deps: {
        registry: {
          listRegistrations: async () => [
            { ...registryItem('m2m-client-test-a'), pk: undefined, sk: undefined },
            { ...registryItem('m2m-client-test-b'), pk: undefined, sk: undefined },
          ],
        },
        ages: { currentVersionCreatedAt: async () => new Date(NOW.getTime() - DAY) },
        stytch: {
          listClients: async () => [
            { clientId: 'm2m-client-test-a', kind: 'm2m', nextSecretPending: true },
            { clientId: 'connected-app-test-x', kind: 'connected_app', nextSecretPending: false },
          ],
        },
        locks: { getLock: async () => null },
        sweeps: { putFleetSweep: async () => true },
        metrics: powertoolsSecretAgeMetrics(),
        clock: { now: () => NOW },
        logger: { info: () => undefined, warn: () => undefined },
      },
      rule: { marginDays: 1, defaultPeriodDays: 31 },
    }));

    // Act
    await handler({});

    // Assess
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
      SecretsOverdue: 0,
      ManagedClients: 2,
      SecretsUnmeasured: 0,
      DriftMidRotation: 1,
      DriftMissingAtStytch: 1,
      UnmanagedClients: 1,
    });
  });
});

describe('Function: readSecretAgeEnv', () => {
  it('reads the table, the rule in days, and the default prefix', () => {
    // Act
    const env = readSecretAgeEnv({
      ROTATOR_TABLE_NAME: TABLE,
      ROTATOR_SECRET_AGE_MARGIN_DAYS: '0.5',
      ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: '31',
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: CREDENTIALS,
    });

    // Assess: no Stytch base URL in a deployment (Stytch's own).
    expect(env).toEqual({
      ROTATOR_TABLE_NAME: TABLE,
      ROTATOR_SECRET_PREFIX: 'stytch/m2m',
      ROTATOR_SECRET_AGE_MARGIN_DAYS: 0.5,
      ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: 31,
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: CREDENTIALS,
      ROTATOR_STYTCH_REQUESTS_PER_SECOND: 20,
    });
  });

  it('names every missing or malformed variable at once', () => {
    // Act
    const error = (() => {
      try {
        return readSecretAgeEnv({
          ROTATOR_SECRET_PREFIX: '',
          ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: 'monthly',
          ROTATOR_STYTCH_BASE_URL: 'ftp://emulator',
        });
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(EnvironmentError);
    const issues = (error as EnvironmentError).issues;
    expect(issues.map((issue) => issue.split(':')[0]).sort()).toEqual([
      'ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS',
      'ROTATOR_SECRET_AGE_MARGIN_DAYS',
      'ROTATOR_SECRET_PREFIX',
      'ROTATOR_STYTCH_BASE_URL',
      'ROTATOR_STYTCH_CREDENTIALS_SECRET_ID',
      'ROTATOR_TABLE_NAME',
    ]);
  });

  it.each([
    ['a negative margin', { ROTATOR_SECRET_AGE_MARGIN_DAYS: '-1' }, 'ROTATOR_SECRET_AGE_MARGIN_DAYS'],
    [
      'a default period of 0',
      { ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: '0' },
      'ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS',
    ],
    ['an empty margin', { ROTATOR_SECRET_AGE_MARGIN_DAYS: ' ' }, 'ROTATOR_SECRET_AGE_MARGIN_DAYS'],
    [
      'an infinite period',
      { ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: 'Infinity' },
      'ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS',
    ],
  ])('refuses %s', (_label, override, variable) => {
    // Prepare
    const env = {
      ROTATOR_TABLE_NAME: TABLE,
      ROTATOR_SECRET_AGE_MARGIN_DAYS: '1',
      ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: '31',
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: CREDENTIALS,
      ...override,
    };

    // Act & Assess
    expect(() => readSecretAgeEnv(env)).toThrow(new RegExp(`^Invalid Lambda environment: ${variable}:`));
  });
});

describe('Function: secretAgePublisherEnvironment', () => {
  it('writes what readSecretAgeEnv reads: the table, the prefix, the rule and the Stytch credentials, and no client', () => {
    // Act
    const environment = secretAgePublisherEnvironment({
      tableName: TABLE,
      secretPrefix: 'team/stytch',
      marginDays: 0.25,
      defaultPeriodDays: 7,
      stytchCredentialsSecretId: CREDENTIALS,
    });

    // Assess
    expect(Object.keys(environment).sort()).toEqual([
      'ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS',
      'ROTATOR_SECRET_AGE_MARGIN_DAYS',
      'ROTATOR_SECRET_PREFIX',
      'ROTATOR_STYTCH_CREDENTIALS_SECRET_ID',
      'ROTATOR_TABLE_NAME',
    ]);
    expect(Object.values(SECRET_AGE_ENV).sort()).toEqual([
      'ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS',
      'ROTATOR_SECRET_AGE_MARGIN_DAYS',
    ]);
    expect(readSecretAgeEnv(environment)).toEqual({
      ROTATOR_TABLE_NAME: TABLE,
      ROTATOR_SECRET_PREFIX: 'team/stytch',
      ROTATOR_SECRET_AGE_MARGIN_DAYS: 0.25,
      ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: 7,
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: CREDENTIALS,
      ROTATOR_STYTCH_REQUESTS_PER_SECOND: 20,
    });
  });

  it("passes the sandbox's Stytch base URL when given one", () => {
    // Act
    const environment = secretAgePublisherEnvironment({
      tableName: TABLE,
      secretPrefix: 'stytch/m2m',
      marginDays: 1,
      defaultPeriodDays: 31,
      stytchCredentialsSecretId: CREDENTIALS,
      stytchBaseUrl: 'http://127.0.0.1:4010',
    });

    // Assess
    expect(readSecretAgeEnv(environment).ROTATOR_STYTCH_BASE_URL).toBe('http://127.0.0.1:4010');
  });
});

describe('Function: secretAgePublisherHandler', () => {
  it('runs over the deps and rule it is given, built once, without reading the environment', async () => {
    // Prepare
    const published: SecretAgeCounts[] = [];
    let built = 0;
    const handler = secretAgePublisherHandler(() => {
      built += 1;
      return {
        deps: {
          registry: {
            listRegistrations: async () => [
              {
                ...registryItem('m2m-client-test-given', 'rate(1 day)'),
                pk: undefined,
                sk: undefined,
              },
            ],
          },
          ages: { currentVersionCreatedAt: async () => new Date(NOW.getTime() - 3 * DAY) },
          stytch: {
            listClients: async () => [
              { clientId: 'm2m-client-test-given', kind: 'm2m', nextSecretPending: false },
            ],
          },
          locks: { getLock: async () => null },
          sweeps: { putFleetSweep: async () => true },
          metrics: { secretAgeCounts: (counts) => published.push(counts) },
          clock: { now: () => NOW },
          logger: { info: () => undefined, warn: () => undefined },
        },
        rule: { marginDays: 0, defaultPeriodDays: 31 },
      };
    });

    // Act
    const first = await handler({});
    await handler({});

    // Assess: rate(1 day) with no margin: 3 days old is overdue.
    expect(first).toMatchObject({
      clients: 1,
      overdueCount: 1,
      overdue: [{ clientId: 'm2m-client-test-given', ageDays: 3, thresholdDays: 1 }],
      problemCount: 0,
      problems: [],
    });
    const noDrift = { midRotationAtStytch: 0, missingAtStytch: 0, unmanaged: 0 };
    expect(published).toEqual([
      { managedClients: 1, overdue: 1, unmeasured: 0, drift: noDrift },
      { managedClients: 1, overdue: 1, unmeasured: 0, drift: noDrift },
    ]);
    expect(built).toBe(1);
  });
});
