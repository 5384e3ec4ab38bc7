import { inspect } from 'node:util';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AwsServiceError,
  SecretsManagerStore,
  SecretValueFormatError,
  SecretVersionConflictError,
} from '#adapters/aws/index.js';
import type { ClientRef, ManagedSecretValue } from '#core/ports.js';
import { InconsistentStateError } from '#core/rotationErrors.js';
import { Secret } from '#core/secret.js';

const CLIENT: ClientRef = { clientId: 'm2m-client-test-unit', kind: 'm2m' };
const SECRET_ID = 'stytch/m2m/m2m-client-test-unit';
const CURRENT_ID = '11111111-1111-4111-8111-111111111111';
const PENDING_ID = '22222222-2222-4222-8222-222222222222';
const STALE_ID = '33333333-3333-4333-8333-333333333333';
const NEXT_SECRET = 'LEAK-unit-next-secret-8c7d';
const VALUE: ManagedSecretValue = {
  projectId: 'project-test-unit',
  clientId: CLIENT.clientId,
  clientSecret: new Secret(NEXT_SECRET),
  tokenUrl: 'https://test.stytch.com/v1/public/project-test-unit/oauth2/token',
};

/** An SDK-shaped error for codes the generated client does not model (throttling, access). */
function awsError(name: string, httpStatusCode: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} from AWS`), {
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode, requestId: 'req-1', attempts: 3 },
    ...extra,
  });
}

function metadata(httpStatusCode: number) {
  return { httpStatusCode, requestId: 'req-2', attempts: 1 };
}

function describeWith(map: Record<string, string[]>) {
  return { VersionIdsToStages: map };
}

function observable(value: unknown): string {
  return `${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })} ${JSON.stringify(value)}`;
}

describe('Class: SecretsManagerStore (faults AWS produces and moto does not)', () => {
  const sm = mockClient(SecretsManagerClient);
  let store: SecretsManagerStore;

  beforeEach(() => {
    sm.reset();
    store = new SecretsManagerStore({ client: new SecretsManagerClient({}) });
  });

  afterEach(() => {
    sm.reset();
  });

  it('turns ResourceExistsException (a version id reused with another value) into a permanent InconsistentStateError', async () => {
    // Prepare
    sm.on(DescribeSecretCommand).resolves(describeWith({ [CURRENT_ID]: ['AWSCURRENT'] }));
    sm.on(PutSecretValueCommand).rejects(
      new ResourceExistsException({
        message: "You can't modify an existing version, you can only create a new version.",
        $metadata: metadata(400),
      }),
    );

    // Act
    const error = await store.putPending(CLIENT, PENDING_ID, VALUE).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SecretVersionConflictError);
    expect(error).toBeInstanceOf(InconsistentStateError);
    expect(error).toMatchObject({
      name: 'SecretVersionConflictError',
      retryable: false,
      secretId: SECRET_ID,
      versionId: PENDING_ID,
    });
    expect((error as Error).cause).toBeInstanceOf(ResourceExistsException);
    expect(Object.keys(error as object)).not.toContain('cause');
    expect(observable(error)).not.toContain(NEXT_SECRET);
  });

  it.each([
    ['ThrottlingException', awsError('ThrottlingException', 400, { $retryable: { throttling: true } }), true],
    [
      'InternalServiceError (5xx)',
      new InternalServiceError({ message: 'boom', $metadata: metadata(500) }),
      true,
    ],
    [
      'a connection reset',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: {} }),
      true,
    ],
    ['a timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError', $metadata: {} }), true],
    ['AccessDeniedException', awsError('AccessDeniedException', 400), false],
    ['ValidationException', awsError('ValidationException', 400), false],
    [
      'ResourceNotFoundException',
      new ResourceNotFoundException({ message: 'nope', $metadata: metadata(400) }),
      false,
    ],
  ])('wraps %s once, with retryable=%s', async (_label, cause, retryable) => {
    // Prepare
    sm.on(DescribeSecretCommand).rejects(cause);

    // Act
    const error = await store.versions(CLIENT).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      service: 'SecretsManager',
      operation: 'DescribeSecret',
      resource: SECRET_ID,
    });
    expect((error as AwsServiceError).retryable).toBe(retryable);
    expect((error as Error).cause).toBe(cause);
    // The foreign message is AWS's text: kept in the cause only.
    expect((error as Error).message).not.toContain((cause as Error).message);
  });

  it('wraps a write failure with the operation that failed and leaves the value out of it', async () => {
    // Prepare
    sm.on(DescribeSecretCommand).resolves(describeWith({ [CURRENT_ID]: ['AWSCURRENT'] }));
    sm.on(PutSecretValueCommand).rejects(awsError('ThrottlingException', 400));

    // Act
    const error = await store.putPending(CLIENT, PENDING_ID, VALUE).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'AwsServiceError', operation: 'PutSecretValue', retryable: true });
    expect(observable(error)).not.toContain(NEXT_SECRET);
  });

  it('sends PutSecretValue with the version id as ClientRequestToken and only AWSPENDING', async () => {
    // Prepare
    sm.on(DescribeSecretCommand).resolves(describeWith({ [CURRENT_ID]: ['AWSCURRENT'] }));
    sm.on(PutSecretValueCommand).resolves({ VersionId: PENDING_ID });

    // Act
    await store.putPending(CLIENT, PENDING_ID, VALUE);

    // Assess
    const [put] = sm.commandCalls(PutSecretValueCommand);
    expect(put?.args[0].input).toMatchObject({
      SecretId: SECRET_ID,
      ClientRequestToken: PENDING_ID,
      VersionStages: ['AWSPENDING'],
    });
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
  });

  it('removes a stale AWSPENDING first; after a crash at the put, a retry only puts', async () => {
    // Prepare: the put fails once after the stale label came off.
    sm.on(DescribeSecretCommand)
      .resolvesOnce(describeWith({ [CURRENT_ID]: ['AWSCURRENT'], [STALE_ID]: ['AWSPENDING'] }))
      .resolves(describeWith({ [CURRENT_ID]: ['AWSCURRENT'], [STALE_ID]: [] }));
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    sm.on(PutSecretValueCommand)
      .rejectsOnce(new InternalServiceError({ message: 'boom', $metadata: metadata(500) }))
      .resolves({ VersionId: PENDING_ID });

    // Act
    const first = await store.putPending(CLIENT, PENDING_ID, VALUE).catch((e: unknown) => e);
    await store.putPending(CLIENT, PENDING_ID, VALUE);

    // Assess
    expect(first).toMatchObject({ operation: 'PutSecretValue', retryable: true });
    const updates = sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
    expect(updates).toEqual([
      { SecretId: SECRET_ID, VersionStage: 'AWSPENDING', RemoveFromVersionId: STALE_ID },
    ]);
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(2);
  });

  it('refuses to store another client’s credentials under this client’s name, before any call', async () => {
    // Act
    const error = await store
      .putPending(CLIENT, PENDING_ID, { ...VALUE, clientId: 'm2m-client-test-other' })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SecretValueFormatError);
    expect(error).toMatchObject({ retryable: false, issues: ['client_id: does_not_match_secret_name'] });
    expect(sm.calls()).toHaveLength(0);
  });

  it('promotes in two label moves, and a retry after a crash between them does only the second', async () => {
    // Prepare: the pending-label removal fails once.
    sm.on(DescribeSecretCommand)
      .resolvesOnce(describeWith({ [CURRENT_ID]: ['AWSCURRENT'], [PENDING_ID]: ['AWSPENDING'] }))
      .resolves(describeWith({ [CURRENT_ID]: ['AWSPREVIOUS'], [PENDING_ID]: ['AWSPENDING', 'AWSCURRENT'] }));
    sm.on(UpdateSecretVersionStageCommand)
      .resolvesOnce({})
      .rejectsOnce(awsError('ThrottlingException', 400))
      .resolves({});

    // Act
    const first = await store.promotePending(CLIENT, PENDING_ID).catch((e: unknown) => e);
    await store.promotePending(CLIENT, PENDING_ID);

    // Assess
    expect(first).toMatchObject({ operation: 'UpdateSecretVersionStage', retryable: true });
    const updates = sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
    expect(updates).toEqual([
      {
        SecretId: SECRET_ID,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: PENDING_ID,
        RemoveFromVersionId: CURRENT_ID,
      },
      { SecretId: SECRET_ID, VersionStage: 'AWSPENDING', RemoveFromVersionId: PENDING_ID },
      { SecretId: SECRET_ID, VersionStage: 'AWSPENDING', RemoveFromVersionId: PENDING_ID },
    ]);
  });

  it('stores AWSPENDING with the labels the caller read: no DescribeSecret, the stale pending label removed first', async () => {
    // Prepare
    sm.on(PutSecretValueCommand).resolves({ VersionId: PENDING_ID, VersionStages: ['AWSPENDING'] });
    sm.on(UpdateSecretVersionStageCommand).resolves({});

    // Act
    await store.putPending(CLIENT, PENDING_ID, VALUE, {
      known: { currentVersionId: CURRENT_ID, pendingVersionId: STALE_ID },
    });

    // Assess
    expect(sm.commandCalls(DescribeSecretCommand)).toHaveLength(0);
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: SECRET_ID, VersionStage: 'AWSPENDING', RemoveFromVersionId: STALE_ID },
    ]);
    expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toMatchObject({
      ClientRequestToken: PENDING_ID,
      VersionStages: ['AWSPENDING'],
    });
  });

  it('attaches AWSPENDING when PutSecretValue answers that the version it repeated carries no label', async () => {
    // Prepare: the version existed without labels, which the caller's labels cannot show.
    sm.on(PutSecretValueCommand).resolves({ VersionId: PENDING_ID, VersionStages: [] });
    sm.on(DescribeSecretCommand).resolves(describeWith({ [CURRENT_ID]: ['AWSCURRENT'], [PENDING_ID]: [] }));
    sm.on(UpdateSecretVersionStageCommand).resolves({});

    // Act
    await store.putPending(CLIENT, PENDING_ID, VALUE, {
      known: { currentVersionId: CURRENT_ID, pendingVersionId: null },
    });

    // Assess
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: SECRET_ID, VersionStage: 'AWSPENDING', MoveToVersionId: PENDING_ID },
    ]);
  });

  it('always names the VersionStage when it reads a value (moto and AWS differ without it)', async () => {
    // Prepare: the stage is absent, then it appears between the two calls.
    sm.on(GetSecretValueCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'no such stage', $metadata: metadata(400) }))
      .resolves({
        SecretString: JSON.stringify({
          project_id: VALUE.projectId,
          client_id: CLIENT.clientId,
          client_secret: NEXT_SECRET,
          token_url: VALUE.tokenUrl,
        }),
        VersionId: PENDING_ID,
        VersionStages: ['AWSPENDING'],
      });
    sm.on(DescribeSecretCommand).resolves(
      describeWith({ [CURRENT_ID]: ['AWSCURRENT'], [PENDING_ID]: ['AWSPENDING'] }),
    );

    // Act
    const value = await store.read(CLIENT, 'AWSPENDING');

    // Assess
    expect(value?.clientSecret.reveal()).toBe(NEXT_SECRET);
    expect(value).toMatchObject({ versionId: PENDING_ID, versionStages: ['AWSPENDING'] });
    const reads = sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input);
    expect(reads).toEqual([
      { SecretId: SECRET_ID, VersionStage: 'AWSPENDING' },
      { SecretId: SECRET_ID, VersionId: PENDING_ID, VersionStage: 'AWSPENDING' },
    ]);
  });
});

describe('Class: SecretsManagerStore (what the CLI reads and register writes)', () => {
  const sm = mockClient(SecretsManagerClient);
  let store: SecretsManagerStore;

  beforeEach(() => {
    sm.reset();
    store = new SecretsManagerStore({ client: new SecretsManagerClient({}), prefix: 'stytch/m2m/' });
  });

  afterEach(() => {
    sm.reset();
  });

  it('says whether the client has a secret: false only for ResourceNotFoundException', async () => {
    // Prepare
    sm.on(DescribeSecretCommand, { SecretId: SECRET_ID }).resolves(
      describeWith({ [CURRENT_ID]: ['AWSCURRENT'] }),
    );
    sm.on(DescribeSecretCommand, { SecretId: 'stytch/m2m/nobody' }).rejects(
      new ResourceNotFoundException({ message: 'not found', $metadata: metadata(400) }),
    );
    sm.on(DescribeSecretCommand, { SecretId: 'stytch/m2m/denied' }).rejects(
      awsError('AccessDeniedException', 400),
    );

    // Act
    const found = await store.exists(CLIENT);
    const missing = await store.exists({ clientId: 'nobody', kind: 'm2m' });
    const denied = await store.exists({ clientId: 'denied', kind: 'm2m' }).catch((error: unknown) => error);

    // Assess
    expect([found, missing]).toEqual([true, false]);
    expect(denied).toBeInstanceOf(AwsServiceError);
    expect(denied).toMatchObject({ operation: 'DescribeSecret', resource: 'stytch/m2m/denied' });
  });

  it('lists the client ids under the prefix from every page, sorted, leaving out other names', async () => {
    // Prepare
    sm.on(ListSecretsCommand)
      .resolvesOnce({
        SecretList: [
          { Name: 'stytch/m2m/zeta' },
          { Name: 'other/stytch/m2m/x' },
          { Name: 'stytch/m2m/deep/er' },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({ SecretList: [{ Name: 'stytch/m2m/alpha' }, {}] });

    // Act
    const ids = await store.clientIds();

    // Assess
    expect(ids).toEqual(['alpha', 'zeta']);
    expect(sm.commandCalls(ListSecretsCommand).map((call) => call.args[0].input)).toEqual([
      { Filters: [{ Key: 'name', Values: ['stytch/m2m/'] }], MaxResults: 100, NextToken: undefined },
      { Filters: [{ Key: 'name', Values: ['stytch/m2m/'] }], MaxResults: 100, NextToken: 'page-2' },
    ]);
  });

  it('finds when a version was created, across pages of versions; undefined for one it does not list', async () => {
    // Prepare
    const created = new Date('2026-01-01T00:00:00Z');
    sm.on(ListSecretVersionIdsCommand)
      .resolvesOnce({ Versions: [{ VersionId: STALE_ID }], NextToken: 'more' })
      .resolvesOnce({ Versions: [{ VersionId: CURRENT_ID, CreatedDate: created }] })
      .resolves({ Versions: [] });

    // Act
    const found = await store.createdAt(CLIENT, CURRENT_ID);
    const unknown = await store.createdAt(CLIENT, PENDING_ID);

    // Assess
    expect(found).toEqual(created);
    expect(unknown).toBeUndefined();
    expect(sm.commandCalls(ListSecretVersionIdsCommand)[0]?.args[0].input).toEqual({
      SecretId: SECRET_ID,
      IncludeDeprecated: true,
      NextToken: undefined,
    });
  });

  it('creates the secret with its value as AWSCURRENT, tagged as managed, with the KMS key asked for', async () => {
    // Prepare
    sm.on(CreateSecretCommand).resolves({ VersionId: CURRENT_ID });

    // Act
    const versionId = await store.createCurrent(CLIENT, VALUE, {
      description: 'registered',
      kmsKeyId: 'key-1',
    });

    // Assess
    expect(versionId).toBe(CURRENT_ID);
    expect(sm.commandCalls(CreateSecretCommand)[0]?.args[0].input).toEqual({
      Name: SECRET_ID,
      Description: 'registered',
      SecretString: JSON.stringify({
        project_id: VALUE.projectId,
        client_id: VALUE.clientId,
        client_secret: NEXT_SECRET,
        token_url: VALUE.tokenUrl,
      }),
      KmsKeyId: 'key-1',
      Tags: [{ Key: 'managed-by', Value: 'stytch-m2m-rotator' }],
    });
  });

  it('puts the value as a new AWSCURRENT version when the secret exists already (a re-run)', async () => {
    // Prepare
    sm.on(CreateSecretCommand).rejects(
      new ResourceExistsException({ message: 'exists', $metadata: metadata(400) }),
    );
    sm.on(PutSecretValueCommand).resolves({ VersionId: PENDING_ID });

    // Act
    const versionId = await store.createCurrent(CLIENT, VALUE, { description: 'registered' });

    // Assess
    expect(versionId).toBe(PENDING_ID);
    expect(sm.commandCalls(CreateSecretCommand)[0]?.args[0].input).not.toHaveProperty('KmsKeyId');
    expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toMatchObject({
      SecretId: SECRET_ID,
      VersionStages: ['AWSCURRENT'],
    });
  });

  it('wraps a failed create without the secret value in the error', async () => {
    // Prepare
    sm.on(CreateSecretCommand).rejects(awsError('AccessDeniedException', 400));

    // Act
    const error = await store
      .createCurrent(CLIENT, VALUE, { description: 'registered' })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      operation: 'CreateSecret',
      resource: SECRET_ID,
      errorCode: 'AccessDeniedException',
    });
    expect(observable(error)).not.toContain(NEXT_SECRET);
  });
});
