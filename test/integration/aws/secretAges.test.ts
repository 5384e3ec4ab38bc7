import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CurrentVersionMissingError, SecretAges } from '#adapters/aws/SecretAges.js';
import { secretAgeDays } from '#core/secretAge.js';
import { type MotoServer, startMoto } from '../../support/moto.js';

// Placeholder values only: the adapter reads version metadata, never a value.
const PLACEHOLDER = JSON.stringify({ enrolled: false });

/**
 * Scenario: the SecretAgeDays publisher measures the AWSCURRENT version of `<prefix>/<clientId>`.
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
