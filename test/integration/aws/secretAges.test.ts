import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger, ledgerTableDefinition } from '#adapters/aws/DynamoLedger.js';
import { CurrentVersionMissingError, SecretAges } from '#adapters/aws/SecretAges.js';
import type { ClientRegistration } from '#core/registry.js';
import { type SecretAgeCounts, secretAgeDays } from '#core/secretAge.js';
import { readSecretAgeEnv } from '#wiring/environment.js';
import { createSecretAgeDeps, secretAgePublisherHandler } from '#wiring/secretAgePublisher.js';
import { FakeClock, RecordingLogger } from '../../support/fakes.js';
import { type MotoServer, startMoto } from '../../support/moto.js';

// Placeholder values only: the adapter reads version metadata, never a value.
const PLACEHOLDER = JSON.stringify({ enrolled: false });

/**
 * Scenario: the secret-age publisher measures the AWSCURRENT version of `<prefix>/<clientId>`.
 * moto deviation: its ListSecretVersionIds reports the time of the call as every version's
 * CreatedDate, so here every age is ~0 and versions cannot be told apart by date; which version
 * is picked (AWSCURRENT, not AWSPREVIOUS or AWSPENDING) is proven with distinct dates in
 * test/unit/adapters/aws/SecretAges.test.ts, as is a missing secret (moto answers that with a
 * non-JSON 500, where AWS says ResourceNotFoundException).
 */
describe('Class: SecretAges (moto)', () => {
  let moto: MotoServer;
  let sm: SecretsManagerClient;

  beforeAll(async () => {
    moto = await startMoto();
    sm = moto.clients.secretsManager();
  });

  afterAll(async () => {
    sm?.destroy();
    await moto?.stop();
  });

  it('measures the AWSCURRENT version of <prefix>/<clientId> after two PutSecretValue calls: age ~0 days', async () => {
    // Prepare: three versions; the last PutSecretValue holds AWSCURRENT, the one before AWSPREVIOUS.
    const clientId = `m2m-client-test-${randomUUID()}`;
    const name = `rotator-it/m2m/${clientId}`;
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: PLACEHOLDER }));
    const second = randomUUID();
    const third = randomUUID();
    await sm.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: second, SecretString: PLACEHOLDER }),
    );
    await sm.send(
      new PutSecretValueCommand({ SecretId: name, ClientRequestToken: third, SecretString: PLACEHOLDER }),
    );
    const ages = new SecretAges({ client: sm, prefix: 'rotator-it/m2m/' });
    const before = new Date(Math.floor(Date.now() / 1000) * 1000);

    // Act
    const createdAt = await ages.currentVersionCreatedAt(clientId);

    // Assess
    const listed = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }));
    const stages = Object.fromEntries((listed.Versions ?? []).map((v) => [v.VersionId, v.VersionStages]));
    expect(stages[third]).toEqual(['AWSCURRENT']);
    expect(stages[second]).toEqual(['AWSPREVIOUS']);
    expect(listed.Versions).toHaveLength(3);
    expect(createdAt).toBeInstanceOf(Date);
    expect(createdAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(secretAgeDays(createdAt, new Date())).toBe(0);
  });

  it('throws CurrentVersionMissingError for a secret that was created without a value (no version)', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    const name = `stytch/m2m/${clientId}`;
    await sm.send(new CreateSecretCommand({ Name: name }));

    // Act & Assess
    const error = await new SecretAges({ client: sm }).currentVersionCreatedAt(clientId).catch((e) => e);
    expect(error).toBeInstanceOf(CurrentVersionMissingError);
    expect(error).toMatchObject({
      secretId: name,
      message: `Secret ${name} has no AWSCURRENT version with a creation date`,
    });
  });
});

/**
 * Scenario: one run of the secret-age publisher over moto, as its Lambda builds it from its
 * environment: the clients come from the ledger's registry (written by DynamoLedger, as `rotator
 * register` and `apply` write it), their secrets from Secrets Manager. moto dates every version at
 * the time of the call, so the run's clock is 40 days ahead: every secret is ~40 days old.
 */
describe('Function: secretAgePublisherHandler over moto (registry and secrets)', () => {
  let moto: MotoServer;

  beforeAll(async () => {
    moto = await startMoto();
  });

  afterAll(async () => {
    await moto?.stop();
  });

  it('lists the registered clients, finds the one past its rate, and counts the one without a secret as a problem', async () => {
    // Prepare
    const tableName = `ledger-${randomUUID()}`;
    const prefix = `rotator-it-${randomUUID().slice(0, 8)}/m2m`;
    const raw = moto.clients.dynamoDb();
    await raw.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
    raw.destroy();
    const doc = moto.clients.dynamoDbDocument();
    const sm = moto.clients.secretsManager();
    const ledger = new DynamoLedger({ client: doc, tableName });
    const register = async (clientId: string, expression: string, withSecret: boolean) => {
      const registration: ClientRegistration = {
        clientId,
        clientKind: 'm2m',
        name: clientId,
        scopes: [],
        expectedConsumers: ['billing-api'],
        schedule: { expression, timeZone: 'UTC', scheduleName: `rotate-${clientId}` },
        secretId: `${prefix}/${clientId}`,
        registeredAt: new Date().toISOString(),
        registeredBy: 'arn:aws:iam::123456789012:user/ops',
      };
      await ledger.putRegistration(registration);
      if (withSecret)
        await sm.send(new CreateSecretCommand({ Name: `${prefix}/${clientId}`, SecretString: PLACEHOLDER }));
    };
    await register('m2m-client-test-monthly', 'rate(30 days)', true);
    await register('m2m-client-test-quarterly', 'rate(90 days)', true);
    await register('m2m-client-test-unenrolled', 'rate(30 days)', false);
    const env = readSecretAgeEnv({
      ROTATOR_TABLE_NAME: tableName,
      ROTATOR_SECRET_PREFIX: prefix,
      ROTATOR_SECRET_AGE_MARGIN_DAYS: '1',
      ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: '31',
      // No such secret: the sweep's drift side is test/integration/aws/fleetSweep.test.ts's; here
      // Stytch cannot be read, and the ages go out all the same.
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: 'stytch/project-not-there',
    });
    const counts: SecretAgeCounts[] = [];
    const clock = new FakeClock(new Date(Date.now() + 40 * 86_400_000).toISOString());
    const handler = secretAgePublisherHandler(() =>
      createSecretAgeDeps(env, {
        logger: new RecordingLogger(),
        secretsManager: sm,
        dynamoDocument: doc,
        metrics: { secretAgeCounts: (run) => counts.push(run) },
        clock,
      }),
    );

    // Act
    const summary = await handler({});

    // Assess
    expect(summary).toMatchObject({
      clients: 3,
      overdueCount: 1,
      overdue: [{ clientId: 'm2m-client-test-monthly', ageDays: 40, thresholdDays: 31 }],
      problemCount: 1,
      problems: [{ clientId: 'm2m-client-test-unenrolled' }],
    });
    expect(counts).toEqual([{ managedClients: 3, overdue: 1, unmeasured: 1 }]);
    doc.destroy();
    sm.destroy();
  });
});
