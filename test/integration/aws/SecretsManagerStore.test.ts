import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AwsServiceError,
  SecretsManagerStore,
  SecretValueFormatError,
  SecretVersionNotFoundError,
} from '#adapters/aws/index.js';
import type { ClientRef, ManagedSecretValue } from '#core/ports.js';
import { Secret } from '#core/secret.js';
import { type MotoServer, startMoto } from '../../support/moto.js';

const PROJECT_ID = 'project-test-0d1c';
const TOKEN_URL = 'https://test.stytch.com/v1/public/project-test-0d1c/oauth2/token';
// Distinctive values, so the leak check can look for them in everything observable.
const CURRENT_SECRET = 'LEAK-current-9a7b3c1d2e';
const NEXT_SECRET = 'LEAK-next-4f5e6d7c8b';
const OTHER_SECRET = 'LEAK-other-1a2b3c4d5e';
const SECRETS = [CURRENT_SECRET, NEXT_SECRET, OTHER_SECRET];

describe('Class: SecretsManagerStore (moto)', () => {
  let moto: MotoServer;
  let sm: SecretsManagerClient;
  let store: SecretsManagerStore;
  const observed: unknown[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    sm = moto.clients.secretsManager();
    store = new SecretsManagerStore({ client: sm });
  });

  afterAll(async () => {
    sm?.destroy();
    await moto?.stop();
  });

  /** A managed client whose secret exists with `CURRENT_SECRET` as AWSCURRENT. */
  async function managedClient(): Promise<{ client: ClientRef; secretId: string; initialVersionId: string }> {
    const client: ClientRef = { clientId: `m2m-client-test-${randomUUID()}`, kind: 'm2m' };
    const secretId = store.secretIdOf(client);
    const initialVersionId = randomUUID();
    await sm.send(
      new CreateSecretCommand({
        Name: secretId,
        ClientRequestToken: initialVersionId,
        SecretString: wire(client.clientId, CURRENT_SECRET),
      }),
    );
    return { client, secretId, initialVersionId };
  }

  function managedValue(client: ClientRef, secret: string): ManagedSecretValue {
    return {
      projectId: PROJECT_ID,
      clientId: client.clientId,
      clientSecret: new Secret(secret),
      tokenUrl: TOKEN_URL,
    };
  }

  async function stagesOf(secretId: string): Promise<Record<string, string[]>> {
    const { VersionIdsToStages } = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
    // moto lists versions that lost every label; AWS does not. Compare labelled versions only.
    return Object.fromEntries(Object.entries(VersionIdsToStages ?? {}).filter(([, s]) => s.length > 0));
  }

  async function failure(promise: Promise<unknown>): Promise<unknown> {
    const error = await promise.then(
      () => new Error('expected a rejection'),
      (e: unknown) => e,
    );
    observed.push(error);
    return error;
  }

  it('names secrets <prefix>/<clientId>, ignoring a trailing slash of the prefix', () => {
    // Prepare
    const custom = new SecretsManagerStore({ client: sm, prefix: 'team/stytch/' });
    const client: ClientRef = { clientId: 'm2m-client-test-abc', kind: 'm2m' };

    // Act & Assess
    expect(store.secretIdOf(client)).toBe('stytch/m2m/m2m-client-test-abc');
    expect(custom.secretIdOf(client)).toBe('team/stytch/m2m-client-test-abc');
  });

  it('reads the current value with its secret wrapped in a Secret', async () => {
    // Prepare
    const { client } = await managedClient();

    // Act
    const value = await store.read(client, 'AWSCURRENT');

    // Assess
    expect(value).toMatchObject({ projectId: PROJECT_ID, clientId: client.clientId, tokenUrl: TOKEN_URL });
    expect(value?.clientSecret).toBeInstanceOf(Secret);
    expect(value?.clientSecret.reveal()).toBe(CURRENT_SECRET);
    observed.push(value);
  });

  it('returns null for a stage no version carries', async () => {
    // Prepare
    const { client } = await managedClient();

    // Act
    const pending = await store.read(client, 'AWSPENDING');

    // Assess
    expect(pending).toBeNull();
  });

  it('fails with a permanent not-found error for a secret that does not exist', async () => {
    // Prepare
    const client: ClientRef = { clientId: 'm2m-client-test-missing', kind: 'm2m' };

    // Act
    const error = await failure(store.read(client, 'AWSCURRENT'));

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({ errorCode: 'ResourceNotFoundException', retryable: false });
    expect((error as Error).message).toContain('stytch/m2m/m2m-client-test-missing');
    expect((error as Error).cause).toBeDefined();
  });

  it('reports the labelled versions', async () => {
    // Prepare
    const { client, initialVersionId } = await managedClient();
    const pendingId = randomUUID();
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));

    // Act
    const versions = await store.versions(client);

    // Assess
    expect(versions).toEqual({
      currentVersionId: initialVersionId,
      pendingVersionId: pendingId,
      previousVersionId: null,
    });
  });

  it('stores the pending value as snake_case JSON with exactly four keys, labelled AWSPENDING', async () => {
    // Prepare
    const { client, secretId, initialVersionId } = await managedClient();
    const pendingId = randomUUID();

    // Act
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));

    // Assess
    const raw = await sm.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionId: pendingId, VersionStage: 'AWSPENDING' }),
    );
    expect(JSON.parse(raw.SecretString ?? '')).toEqual({
      project_id: PROJECT_ID,
      client_id: client.clientId,
      client_secret: NEXT_SECRET,
      token_url: TOKEN_URL,
    });
    expect(await stagesOf(secretId)).toEqual({
      [initialVersionId]: ['AWSCURRENT'],
      [pendingId]: ['AWSPENDING'],
    });
    expect((await store.read(client, 'AWSPENDING'))?.clientSecret.reveal()).toBe(NEXT_SECRET);
    expect((await store.read(client, 'AWSCURRENT'))?.clientSecret.reveal()).toBe(CURRENT_SECRET);
  });

  it('does nothing when the same version is stored again (a retried step)', async () => {
    // Prepare
    const { client, secretId } = await managedClient();
    const pendingId = randomUUID();
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));
    const before = await stagesOf(secretId);

    // Act
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));

    // Assess
    expect(await stagesOf(secretId)).toEqual(before);
    expect((await store.read(client, 'AWSPENDING'))?.clientSecret.reveal()).toBe(NEXT_SECRET);
  });

  it('takes AWSPENDING from a stale pending version of an earlier rotation', async () => {
    // Prepare
    const { client, secretId, initialVersionId } = await managedClient();
    const staleId = randomUUID();
    const pendingId = randomUUID();
    await store.putPending(client, staleId, managedValue(client, OTHER_SECRET));

    // Act
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));

    // Assess
    expect(await stagesOf(secretId)).toEqual({
      [initialVersionId]: ['AWSCURRENT'],
      [pendingId]: ['AWSPENDING'],
    });
    expect((await store.read(client, 'AWSPENDING'))?.clientSecret.reveal()).toBe(NEXT_SECRET);
  });

  it('labels a version again when its pending label was removed before a retry', async () => {
    // Prepare
    const { client, secretId, initialVersionId } = await managedClient();
    const pendingId = randomUUID();
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));
    await store.removePending(client, pendingId);

    // Act
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));

    // Assess
    expect(await stagesOf(secretId)).toEqual({
      [initialVersionId]: ['AWSCURRENT'],
      [pendingId]: ['AWSPENDING'],
    });
  });

  it('promotes: AWSCURRENT moves, AWSPREVIOUS follows, AWSPENDING is removed', async () => {
    // Prepare
    const { client, secretId, initialVersionId } = await managedClient();
    const pendingId = randomUUID();
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));

    // Act
    await store.promotePending(client, pendingId);

    // Assess
    expect(await stagesOf(secretId)).toEqual({
      [initialVersionId]: ['AWSPREVIOUS'],
      [pendingId]: ['AWSCURRENT'],
    });
    expect((await store.read(client, 'AWSCURRENT'))?.clientSecret.reveal()).toBe(NEXT_SECRET);
    expect(await store.read(client, 'AWSPENDING')).toBeNull();
    expect(await store.versions(client)).toEqual({
      currentVersionId: pendingId,
      pendingVersionId: null,
      previousVersionId: initialVersionId,
    });
  });

  it('promotes with the caller’s fresh read of the labels without reading them again (no DescribeSecret)', async () => {
    // Prepare
    const { client, secretId, initialVersionId } = await managedClient();
    const pendingId = randomUUID();
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));
    const known = await store.versions(client);
    const sent: string[] = [];
    sm.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );

    // Act
    try {
      await store.promotePending(client, pendingId, known);
    } finally {
      sm.middlewareStack.remove('countCommands');
    }

    // Assess
    expect(sent).toEqual(['UpdateSecretVersionStageCommand', 'UpdateSecretVersionStageCommand']);
    expect(await stagesOf(secretId)).toEqual({
      [initialVersionId]: ['AWSPREVIOUS'],
      [pendingId]: ['AWSCURRENT'],
    });
  });

  it('promotes idempotently: a second run changes nothing', async () => {
    // Prepare
    const { client, secretId } = await managedClient();
    const pendingId = randomUUID();
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));
    await store.promotePending(client, pendingId);
    const before = await stagesOf(secretId);

    // Act
    await store.promotePending(client, pendingId);

    // Assess
    expect(await stagesOf(secretId)).toEqual(before);
  });

  it('finishes a promotion that crashed after moving AWSCURRENT', async () => {
    // Prepare: the first half of a promotion, done by hand.
    const { client, secretId, initialVersionId } = await managedClient();
    const pendingId = randomUUID();
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: pendingId,
        RemoveFromVersionId: initialVersionId,
      }),
    );

    // Act
    await store.promotePending(client, pendingId);

    // Assess
    expect(await stagesOf(secretId)).toEqual({
      [initialVersionId]: ['AWSPREVIOUS'],
      [pendingId]: ['AWSCURRENT'],
    });
  });

  it('refuses to promote a version the secret does not have', async () => {
    // Prepare
    const { client, secretId } = await managedClient();
    const before = await stagesOf(secretId);

    // Act
    const error = await failure(store.promotePending(client, randomUUID()));

    // Assess
    expect(error).toBeInstanceOf(SecretVersionNotFoundError);
    expect(error).toMatchObject({ retryable: false });
    expect(await stagesOf(secretId)).toEqual(before);
  });

  it('removes AWSPENDING, and does nothing when the version does not carry it', async () => {
    // Prepare
    const { client, secretId, initialVersionId } = await managedClient();
    const pendingId = randomUUID();
    await store.putPending(client, pendingId, managedValue(client, NEXT_SECRET));

    // Act
    await store.removePending(client, pendingId);
    await store.removePending(client, pendingId);
    await store.removePending(client, initialVersionId);
    await store.removePending(client, randomUUID());

    // Assess
    expect(await stagesOf(secretId)).toEqual({ [initialVersionId]: ['AWSCURRENT'] });
    expect(await store.read(client, 'AWSPENDING')).toBeNull();
    expect((await store.read(client, 'AWSCURRENT'))?.clientSecret.reveal()).toBe(CURRENT_SECRET);
  });

  it('leaves a removed pending version alone when another one is stored', async () => {
    // Prepare: cancel path, then a new rotation.
    const { client, secretId, initialVersionId } = await managedClient();
    const cancelledId = randomUUID();
    const nextId = randomUUID();
    await store.putPending(client, cancelledId, managedValue(client, OTHER_SECRET));
    await store.removePending(client, cancelledId);

    // Act
    await store.putPending(client, nextId, managedValue(client, NEXT_SECRET));
    await store.promotePending(client, nextId);

    // Assess
    expect(await stagesOf(secretId)).toEqual({
      [initialVersionId]: ['AWSPREVIOUS'],
      [nextId]: ['AWSCURRENT'],
    });
    expect((await store.read(client, 'AWSCURRENT'))?.clientSecret.reveal()).toBe(NEXT_SECRET);
  });

  it.each([
    ['not JSON', `{"client_secret": "${CURRENT_SECRET}"`, '(root): invalid_json'],
    ['an unknown key', 'EXTRA', '(root): unrecognized_keys'],
    ['a missing key', 'MISSING', 'token_url: invalid_type'],
    ['another client id', 'OTHER_CLIENT', 'client_id: does_not_match_secret_name'],
  ])('rejects a stored value with %s, without quoting it', async (_label, kind, issue) => {
    // Prepare
    const { client, secretId } = await managedClient();
    const good = JSON.parse(wire(client.clientId, CURRENT_SECRET)) as Record<string, string>;
    const bad =
      kind === 'EXTRA'
        ? JSON.stringify({ ...good, refresh_secret: OTHER_SECRET })
        : kind === 'MISSING'
          ? JSON.stringify({ ...good, token_url: undefined })
          : kind === 'OTHER_CLIENT'
            ? JSON.stringify({ ...good, client_id: 'someone-else' })
            : kind;
    await sm.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: bad, VersionStages: ['AWSPENDING'] }),
    );

    // Act
    const error = await failure(store.read(client, 'AWSPENDING'));

    // Assess
    expect(error).toBeInstanceOf(SecretValueFormatError);
    expect(error).toMatchObject({ retryable: false, issues: [issue] });
  });

  it('never lets a secret value into anything observable', () => {
    // Assess: every error and value the tests above observed, as deeply as inspect can look.
    expect(observed.length).toBeGreaterThan(5);
    for (const value of observed) {
      const text = `${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })} ${JSON.stringify(value)} ${String(value)}`;
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    }
  });
});

function wire(clientId: string, secret: string): string {
  return JSON.stringify({
    project_id: PROJECT_ID,
    client_id: clientId,
    client_secret: secret,
    token_url: TOKEN_URL,
  });
}
