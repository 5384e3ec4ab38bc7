import {
  ListSecretVersionIdsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError } from '#adapters/aws/index.js';
import { CurrentVersionMissingError, SecretAges } from '#adapters/aws/SecretAges.js';

const CLIENT_ID = 'm2m-client-test-unit';
const SECRET_ID = 'stytch/m2m/m2m-client-test-unit';
const PREVIOUS = {
  VersionId: 'v-previous',
  VersionStages: ['AWSPREVIOUS'],
  CreatedDate: new Date('2026-10-01T00:00:00Z'),
};
const CURRENT = {
  VersionId: 'v-current',
  VersionStages: ['AWSCURRENT'],
  CreatedDate: new Date('2026-11-01T00:00:00Z'),
};
const PENDING = {
  VersionId: 'v-pending',
  VersionStages: ['AWSPENDING'],
  CreatedDate: new Date('2026-11-20T00:00:00Z'),
};

function metadata(httpStatusCode: number) {
  return { httpStatusCode, requestId: 'req-1', attempts: 1 };
}

describe('Class: SecretAges (what moto cannot show: distinct dates, paging, AWS faults)', () => {
  const sm = mockClient(SecretsManagerClient);
  let ages: SecretAges;

  beforeEach(() => {
    sm.reset();
    ages = new SecretAges({ client: new SecretsManagerClient({}) });
  });

  afterEach(() => {
    sm.reset();
  });

  it('returns the CreatedDate of the AWSCURRENT version, not of AWSPREVIOUS or AWSPENDING', async () => {
    // Prepare
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [PREVIOUS, PENDING, CURRENT] });

    // Act
    const createdAt = await ages.currentVersionCreatedAt(CLIENT_ID);

    // Assess
    expect(createdAt).toEqual(CURRENT.CreatedDate);
    expect(sm.commandCalls(ListSecretVersionIdsCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: SECRET_ID, MaxResults: 100 },
    ]);
  });

  it.each([
    ['a custom prefix', 'team-a/stytch', 'team-a/stytch/m2m-client-test-unit'],
    ['a trailing slash', 'team-a/stytch//', 'team-a/stytch/m2m-client-test-unit'],
  ])('names the secret <prefix>/<clientId> with %s', async (_label, prefix, secretId) => {
    // Prepare
    sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [CURRENT] });
    const prefixed = new SecretAges({ client: new SecretsManagerClient({}), prefix });

    // Act
    await prefixed.currentVersionCreatedAt(CLIENT_ID);

    // Assess
    expect(prefixed.secretIdOf(CLIENT_ID)).toBe(secretId);
    expect(sm.commandCalls(ListSecretVersionIdsCommand)[0]?.args[0].input.SecretId).toBe(secretId);
  });

  it('pages until it finds the AWSCURRENT version', async () => {
    // Prepare
    sm.on(ListSecretVersionIdsCommand)
      .resolvesOnce({ Versions: [PREVIOUS, PENDING], NextToken: 'page-2' })
      .resolvesOnce({ Versions: [CURRENT], NextToken: 'page-3' });

    // Act
    const createdAt = await ages.currentVersionCreatedAt(CLIENT_ID);

    // Assess
    expect(createdAt).toEqual(CURRENT.CreatedDate);
    expect(sm.commandCalls(ListSecretVersionIdsCommand).map((call) => call.args[0].input.NextToken)).toEqual([
      undefined,
      'page-2',
    ]);
  });

  it.each([
    [
      'no page holds AWSCURRENT (the last token is empty, as moto sends)',
      [{ Versions: [PREVIOUS], NextToken: '' }],
    ],
    [
      'no page holds AWSCURRENT (no token)',
      [{ Versions: [PREVIOUS], NextToken: 'p2' }, { Versions: [PENDING] }],
    ],
    ['the secret has no version at all', [{ Versions: [] }]],
    ['AWSCURRENT has no CreatedDate', [{ Versions: [{ VersionId: 'v', VersionStages: ['AWSCURRENT'] }] }]],
  ])('throws CurrentVersionMissingError when %s', async (_label, pages) => {
    // Prepare
    let mock = sm.on(ListSecretVersionIdsCommand);
    for (const page of pages) mock = mock.resolvesOnce(page);

    // Act
    const error = await ages.currentVersionCreatedAt(CLIENT_ID).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(CurrentVersionMissingError);
    expect(error).toMatchObject({ secretId: SECRET_ID, retryable: false });
    expect(sm.commandCalls(ListSecretVersionIdsCommand)).toHaveLength(pages.length);
  });

  it.each([
    [
      'ResourceNotFoundException',
      new ResourceNotFoundException({ message: 'not found', $metadata: metadata(400) }),
      false,
    ],
    [
      'ThrottlingException',
      Object.assign(new Error('slow down'), {
        name: 'ThrottlingException',
        $fault: 'client',
        $retryable: { throttling: true },
        $metadata: metadata(400),
      }),
      true,
    ],
  ])('wraps %s once, naming the operation and the secret (retryable=%s)', async (code, cause, retryable) => {
    // Prepare
    sm.on(ListSecretVersionIdsCommand).rejects(cause);

    // Act
    const error = await ages.currentVersionCreatedAt(CLIENT_ID).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      service: 'SecretsManager',
      operation: 'ListSecretVersionIds',
      resource: SECRET_ID,
      errorCode: code,
      retryable,
    });
    expect((error as Error).cause).toBe(cause);
  });
});
