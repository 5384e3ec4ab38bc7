import { ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { EnvironmentError, readSecretAgeEnv } from '#wiring/environment.js';
import { secretAgePublisherHandler } from '#wiring/secretAgePublisher.js';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const DAY = 86_400_000;
const CLIENTS = JSON.stringify({
  'm2m-client-test-a': { kind: 'm2m', policy: { expectedConsumers: ['api'] } },
  'connected-app-test-b': { kind: 'connected_app', policy: { expectedConsumers: [] } },
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

function versions(createdDaysAgo: number) {
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
        CreatedDate: new Date(NOW.getTime() - createdDaysAgo * DAY),
      },
    ],
  };
}

describe('Function: handler (secretAgePublisher)', () => {
  const sm = mockClient(SecretsManagerClient);
  let stdout: MockInstance<typeof process.stdout.write>;
  const emf = (): EmfDocument[] =>
    stdout.mock.calls
      .flatMap(([chunk]) => String(chunk).split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as EmfDocument);
  /** The handler of a fresh container (it builds its deps once, on the first invocation). */
  const freshHandler = async () => {
    vi.resetModules();
    return (await import('#handlers/secretAgePublisher.js')).handler;
  };

  beforeEach(() => {
    sm.reset();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    // What RotatorFunction and RotatorMonitoring set on the publisher.
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'StytchM2MRotator');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'stytch-m2m-rotator');
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.stubEnv('ROTATOR_SECRET_PREFIX', 'stytch/m2m');
    vi.stubEnv('ROTATOR_CLIENTS', CLIENTS);
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    stdout.mockRestore();
    vi.unstubAllEnvs();
    vi.useRealTimers();
    sm.reset();
  });

  it('emits one SecretAgeDays per client with the ClientId dimension only, as the alarms expect', async () => {
    // Prepare
    sm.on(ListSecretVersionIdsCommand, { SecretId: 'stytch/m2m/m2m-client-test-a' }).resolves(versions(30.5));
    sm.on(ListSecretVersionIdsCommand, { SecretId: 'stytch/m2m/connected-app-test-b' }).resolves(
      versions(2.25),
    );
    const handler = await freshHandler();

    // Act
    const summary = await handler({ 'detail-type': 'Scheduled Event' });

    // Assess
    expect(summary).toEqual({
      published: [
        { clientId: 'm2m-client-test-a', ageDays: 30.5 },
        { clientId: 'connected-app-test-b', ageDays: 2.25 },
      ],
      problems: [],
    });
    const documents = emf();
    expect(documents.map((d) => d._aws.CloudWatchMetrics)).toEqual([
      [
        {
          Namespace: 'StytchM2MRotator',
          Dimensions: [['ClientId']],
          Metrics: [{ Name: 'SecretAgeDays', Unit: 'None' }],
        },
      ],
      [
        {
          Namespace: 'StytchM2MRotator',
          Dimensions: [['ClientId']],
          Metrics: [{ Name: 'SecretAgeDays', Unit: 'None' }],
        },
      ],
    ]);
    expect(documents.map(({ ClientId, SecretAgeDays }) => ({ ClientId, SecretAgeDays }))).toEqual([
      { ClientId: 'm2m-client-test-a', SecretAgeDays: 30.5 },
      { ClientId: 'connected-app-test-b', SecretAgeDays: 2.25 },
    ]);
    expect(documents.every((d) => !('service' in d))).toBe(true);
  });

  it('lists a client whose secret cannot be read as a problem and still publishes the others', async () => {
    // Prepare
    sm.on(ListSecretVersionIdsCommand, { SecretId: 'stytch/m2m/m2m-client-test-a' }).rejects(
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    sm.on(ListSecretVersionIdsCommand, { SecretId: 'stytch/m2m/connected-app-test-b' }).resolves(versions(1));
    const handler = await freshHandler();

    // Act
    const summary = await handler({});

    // Assess
    expect(summary.published).toEqual([{ clientId: 'connected-app-test-b', ageDays: 1 }]);
    expect(summary.problems).toEqual([
      {
        clientId: 'm2m-client-test-a',
        error: 'AwsServiceError',
        message:
          'SecretsManager ListSecretVersionIds on stytch/m2m/m2m-client-test-a failed: AccessDeniedException (HTTP 400)',
      },
    ]);
    expect(emf().map((d) => d.ClientId)).toEqual(['connected-app-test-b']);
  });

  it('stamps the Lambda context on its log line and emits ColdStart on the first invocation only', async () => {
    // Prepare
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    sm.on(ListSecretVersionIdsCommand).resolves(versions(1));
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
    const lines = stdout.mock.calls
      .flatMap(([chunk]) => String(chunk).split('\n'))
      .filter((line) => line.includes('"Secret ages published"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toMatchObject([
      {
        function_name: 'StytchM2MRotator-SecretAgePublisher-AbCdEf123456',
        function_request_id: 'request-1',
        cold_start: true,
      },
      { function_request_id: 'request-2', cold_start: false },
    ]);
    const coldStarts = emf().filter((document) => 'ColdStart' in document);
    expect(coldStarts).toHaveLength(1);
    expect(coldStarts[0]).toMatchObject({
      function_name: 'StytchM2MRotator-SecretAgePublisher-AbCdEf123456',
      ColdStart: 1,
    });
    expect(emf().filter((document) => 'SecretAgeDays' in document)).toHaveLength(4);
  });

  it('fails the invocation, naming the variable, when the environment is broken', async () => {
    // Prepare
    vi.stubEnv('ROTATOR_CLIENTS', '{not json');
    const handler = await freshHandler();

    // Act & Assess
    await expect(handler({})).rejects.toThrow(/ROTATOR_CLIENTS: is not valid JSON/);
    expect(sm.commandCalls(ListSecretVersionIdsCommand)).toEqual([]);
  });
});

describe('Function: readSecretAgeEnv', () => {
  it('reads the clients in the rotation functions’ format, with the default prefix', () => {
    // Act
    const env = readSecretAgeEnv({ ROTATOR_CLIENTS: CLIENTS });

    // Assess
    expect(env.ROTATOR_SECRET_PREFIX).toBe('stytch/m2m');
    expect(Object.keys(env.ROTATOR_CLIENTS)).toEqual(['m2m-client-test-a', 'connected-app-test-b']);
  });

  it('names every missing or malformed variable at once', () => {
    // Act
    const error = (() => {
      try {
        return readSecretAgeEnv({ ROTATOR_SECRET_PREFIX: '' });
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(EnvironmentError);
    const issues = (error as EnvironmentError).issues.join('\n');
    expect(issues).toMatch(/ROTATOR_SECRET_PREFIX/);
    expect(issues).toMatch(/ROTATOR_CLIENTS/);
  });

  it('rejects a client entry the rotation functions would reject', () => {
    // Prepare
    const env = { ROTATOR_CLIENTS: JSON.stringify({ c1: { kind: 'saml', policy: {} } }) };

    // Act & Assess
    expect(() => readSecretAgeEnv(env)).toThrow(/ROTATOR_CLIENTS\.c1\.kind/);
  });
});

describe('Function: secretAgePublisherHandler', () => {
  it('runs over the deps it is given, built once, without reading the environment', async () => {
    // Prepare
    const published: { clientId: string; ageDays: number }[] = [];
    let built = 0;
    const handler = secretAgePublisherHandler(() => {
      built += 1;
      return {
        deps: {
          ages: { currentVersionCreatedAt: async () => new Date(NOW.getTime() - 3 * DAY) },
          metrics: { secretAge: (metric) => published.push(metric) },
          clock: { now: () => NOW },
          logger: { info: () => undefined, warn: () => undefined },
        },
        clientIds: ['m2m-client-test-given'],
      };
    });

    // Act
    const first = await handler({});
    await handler({});

    // Assess
    expect(first).toEqual({ published: [{ clientId: 'm2m-client-test-given', ageDays: 3 }], problems: [] });
    expect(published).toHaveLength(2);
    expect(built).toBe(1);
  });
});
