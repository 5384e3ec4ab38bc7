import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsServiceError } from '#adapters/aws/errors.js';
import {
  cachedSecret,
  readGitHubToken,
  readStytchCredentials,
  readWebhookSecret,
  StytchCredentialsError,
  WebhookSecretValueError,
} from '#adapters/aws/SecretValueReader.js';
import { type MotoServer, startMoto } from '../../support/moto.js';

// Test values: never a real secret, but each must stay out of every error message.
const PROJECT_SECRET = 'secret-test-project-0123456789abcdef';
const WEBHOOK_SECRET = 'webhook-test-secret-0123456789';
const GITHUB_TOKEN = 'github_pat_test_0123456789abcdef';

/** The error `promise` rejects with. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/**
 * Scenario: the functions read the secrets they run on (the Stytch project credentials, the
 * GitHub webhook secret and token) from Secrets Manager, here moto's, through the adapter.
 */
describe('Module: SecretValueReader (moto)', () => {
  let moto: MotoServer;
  let sm: SecretsManagerClient;
  const secretNamed = async (value: string): Promise<string> => {
    const name = `rotator-it/reader/${randomUUID()}`;
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    return name;
  };

  beforeAll(async () => {
    moto = await startMoto();
    sm = moto.clients.secretsManager();
  });

  afterAll(async () => {
    sm?.destroy();
    await moto?.stop();
  });

  describe('Function: readStytchCredentials', () => {
    it('reads the project id and secret from the JSON SecretString', async () => {
      // Prepare
      const id = await secretNamed(JSON.stringify({ project_id: 'project-test-1', secret: PROJECT_SECRET }));

      // Act
      const credentials = await readStytchCredentials(sm, id);

      // Assess
      expect(credentials.projectId).toBe('project-test-1');
      expect(credentials.secret.reveal()).toBe(PROJECT_SECRET);
    });

    it.each([
      ['not JSON', `not json ${PROJECT_SECRET}`, 'is not JSON {"project_id","secret"}'],
      [
        'JSON without a project id',
        JSON.stringify({ secret: PROJECT_SECRET }),
        'must be JSON {"project_id","secret"}',
      ],
    ])('refuses a SecretString that is %s, without quoting it', async (_case, value, problem) => {
      // Prepare
      const id = await secretNamed(value);

      // Act
      const error = await rejectionOf(readStytchCredentials(sm, id));

      // Assess
      expect(error).toBeInstanceOf(StytchCredentialsError);
      expect(error.name).toBe('StytchCredentialsError');
      expect(error.message).toBe(`Stytch project credentials in ${id}: ${problem}`);
      expect(error.message).not.toContain(PROJECT_SECRET);
    });

    it('names the AWS error of a secret that is not there, as a permanent StytchCredentialsError', async () => {
      // Act
      const error = await rejectionOf(readStytchCredentials(sm, 'rotator-it/reader/missing'));

      // Assess
      expect(error).toBeInstanceOf(StytchCredentialsError);
      expect(error.message).toBe(
        'Stytch project credentials in rotator-it/reader/missing: cannot be read (ResourceNotFoundException)',
      );
      expect((error as StytchCredentialsError).retryable).toBe(false);
      expect(error.cause).toBeInstanceOf(Error);
    });
  });

  describe('Function: readWebhookSecret', () => {
    it('reads a secret of at least 16 characters', async () => {
      // Prepare
      const id = await secretNamed(WEBHOOK_SECRET);

      // Act & Assess
      expect((await readWebhookSecret(sm, id)).reveal()).toBe(WEBHOOK_SECRET);
    });

    it('refuses a shorter secret, without quoting it', async () => {
      // Prepare
      const id = await secretNamed('short-secret');

      // Act
      const error = await rejectionOf(readWebhookSecret(sm, id));

      // Assess
      expect(error).toBeInstanceOf(WebhookSecretValueError);
      expect(error.name).toBe('WebhookSecretValueError');
      expect((error as WebhookSecretValueError).secretId).toBe(id);
      expect(error.message).not.toContain('short-secret');
    });

    it('reports a failed call as the AWS error, naming the secret', async () => {
      // Act
      const error = await rejectionOf(readWebhookSecret(sm, 'rotator-it/reader/missing-hook'));

      // Assess
      expect(error).toBeInstanceOf(AwsServiceError);
      expect(error.message).toContain(
        'SecretsManager GetSecretValue on rotator-it/reader/missing-hook failed',
      );
    });
  });

  describe('Function: readGitHubToken', () => {
    it('reads the token, trimmed', async () => {
      // Prepare
      const id = await secretNamed(` ${GITHUB_TOKEN}\n`);

      // Act & Assess
      expect((await readGitHubToken(sm, id)).reveal()).toBe(GITHUB_TOKEN);
    });

    it('refuses the placeholder the CDK app creates, saying what to put there', async () => {
      // Prepare
      const id = await secretNamed(JSON.stringify({ configured: false, placeholder: 'x'.repeat(32) }));

      // Act
      const error = await rejectionOf(readGitHubToken(sm, id));

      // Assess
      expect(error).toBeInstanceOf(WebhookSecretValueError);
      expect(error.message).toContain('still holds its placeholder');
    });
  });

  describe('Function: cachedSecret', () => {
    it('keeps a value for its time to live, then reads the new one', async () => {
      // Prepare
      const id = await secretNamed(WEBHOOK_SECRET);
      let now = 1_000;
      const read = cachedSecret(
        () => readWebhookSecret(sm, id),
        60_000,
        () => now,
      );
      const first = (await read()).reveal();
      await sm.send(new PutSecretValueCommand({ SecretId: id, SecretString: `${WEBHOOK_SECRET}-next` }));

      // Act
      const withinTtl = (await read()).reveal();
      now += 60_000;
      const afterTtl = (await read()).reveal();

      // Assess
      expect(first).toBe(WEBHOOK_SECRET);
      expect(withinTtl).toBe(WEBHOOK_SECRET);
      expect(afterTtl).toBe(`${WEBHOOK_SECRET}-next`);
    });

    it('does not keep a failed read: the next call reads again', async () => {
      // Prepare
      const name = `rotator-it/reader/${randomUUID()}`;
      const read = cachedSecret(
        () => readWebhookSecret(sm, name),
        60_000,
        () => 1_000,
      );
      const failed = await rejectionOf(read());
      await sm.send(new CreateSecretCommand({ Name: name, SecretString: WEBHOOK_SECRET }));

      // Act
      const value = (await read()).reveal();

      // Assess
      expect(failed).toBeInstanceOf(AwsServiceError);
      expect(value).toBe(WEBHOOK_SECRET);
    });

    it('shares one read between concurrent callers', async () => {
      // Prepare
      const id = await secretNamed(WEBHOOK_SECRET);
      let reads = 0;
      const read = cachedSecret(
        () => {
          reads += 1;
          return readWebhookSecret(sm, id);
        },
        60_000,
        () => 1_000,
      );

      // Act
      const values = await Promise.all([read(), read(), read()]);

      // Assess
      expect(reads).toBe(1);
      expect(values.map((value) => value.reveal())).toEqual([WEBHOOK_SECRET, WEBHOOK_SECRET, WEBHOOK_SECRET]);
    });
  });
});
