import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dynamoDocumentClient } from '#adapters/aws/clients/dynamoDocument.js';
import { eventBridgeClient } from '#adapters/aws/clients/eventBridge.js';
import { secretsManagerClient } from '#adapters/aws/clients/secretsManager.js';
import { sfnClient } from '#adapters/aws/clients/sfn.js';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { EventBridgePublisher } from '#adapters/aws/EventBridgePublisher.js';
import { AwsServiceError } from '#adapters/aws/errors.js';
import { ledgerTableDefinition } from '#adapters/aws/ledger/ledgerTable.js';
import { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { SfnExecutionStatus } from '#adapters/aws/SfnExecutionStatus.js';
import { SfnWorkflowStarter } from '#adapters/aws/SfnWorkflowStarter.js';
import type { RotatorEvent } from '#core/events.js';
import { MOTO_CREDENTIALS, MOTO_REGION, type MotoServer, startMoto } from '../../support/moto.js';

/**
 * The clients a Lambda function builds by default (lambdas/adapters/aws/clients/): no settings of
 * their own, the SDK imported on their first call, configured from the environment as in Lambda
 * (`AWS_ENDPOINT_URL` points them at moto here, as the sandbox does).
 */
describe('Functions: the default clients of a Lambda function (moto)', () => {
  let moto: MotoServer;
  let seed: SecretsManagerClient;

  beforeAll(async () => {
    moto = await startMoto();
    seed = moto.clients.secretsManager();
    vi.stubEnv('AWS_ENDPOINT_URL', moto.endpoint);
    vi.stubEnv('AWS_REGION', MOTO_REGION);
    vi.stubEnv('AWS_ACCESS_KEY_ID', MOTO_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', MOTO_CREDENTIALS.secretAccessKey);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    seed?.destroy();
    await moto?.stop();
  });

  it('reads a managed secret through a Secrets Manager client made on its first call', async () => {
    // Prepare
    const clientId = `m2m-client-test-${randomUUID()}`;
    await seed.send(
      new CreateSecretCommand({
        Name: `stytch/m2m/${clientId}`,
        SecretString: JSON.stringify({
          project_id: 'project-test-1',
          client_id: clientId,
          client_secret: 'placeholder-not-a-secret',
          token_url: 'https://test.stytch.com/v1/public/project-test-1/oauth2/token',
        }),
      }),
    );
    const store = new SecretsManagerStore({ client: secretsManagerClient() });

    // Act
    const value = await store.read({ clientId, kind: 'm2m' }, 'AWSCURRENT');
    const missing = await store.exists({ clientId: `${clientId}-absent`, kind: 'm2m' });

    // Assess
    expect(value?.clientId).toBe(clientId);
    expect(missing).toBe(false);
  });

  it('writes and reads the ledger through a document client that drops undefined attributes', async () => {
    // Prepare
    const tableName = `ledger-${randomUUID()}`;
    const raw = moto.clients.dynamoDb();
    const { CreateTableCommand } = await import('@aws-sdk/client-dynamodb');
    await raw.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
    raw.destroy();
    const client = dynamoDocumentClient();
    const ledger = new DynamoLedger({ client, tableName });
    const clientId = `m2m-client-test-${randomUUID()}`;
    const now = new Date('2026-11-25T12:00:00.000Z');

    // Act
    const lock = (rotationId: string) => ({ clientId, rotationId, expiresAt: '2026-11-25T13:00:00.000Z' });
    const acquired = await ledger.acquireLock(lock('rotation-1'), now);
    const again = await ledger.acquireLock(lock('rotation-2'), now);
    client.destroy();

    // Assess
    expect(acquired).toMatchObject({ acquired: true });
    expect(again).toMatchObject({ acquired: false, heldBy: { rotationId: 'rotation-1' } });
  });

  it('publishes through an EventBridge client, and maps a Step Functions failure to AwsServiceError', async () => {
    // Prepare
    const events = new EventBridgePublisher({ client: eventBridgeClient(), eventBusName: 'default' });
    const sfn = sfnClient();
    const starter = new SfnWorkflowStarter({
      client: sfn,
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:absent',
    });

    // Act
    const rotationId = randomUUID();
    const eventIds = await events.publish({
      detailType: 'Rotation Pending',
      detail: {
        rotationId,
        clientId: 'm2m-client-test-events',
        clientKind: 'm2m',
        trigger: 'schedule',
        secretId: 'stytch/m2m/m2m-client-test-events',
        pendingVersionId: rotationId,
        pendingLastFour: 'a1b2',
        currentLastFour: 'c3d4',
        deadline: '2030-01-01T01:00:00.000Z',
        expectedConsumers: ['billing-api'],
      },
    } as RotatorEvent<'Rotation Pending'>);
    const status = await new SfnExecutionStatus({ client: sfn }).status(
      'arn:aws:states:us-east-1:123456789012:execution:absent:run-1',
    );
    const failure = await starter
      .startNew({ clientId: 'm2m-client-test-a', trigger: 'manual', requestedBy: 'test' })
      .catch((error: unknown) => error);

    // Assess
    expect(status).toBeNull();
    expect(failure).toBeInstanceOf(AwsServiceError);
    expect(failure).toMatchObject({ operation: 'StartExecution', errorCode: 'StateMachineDoesNotExist' });
    expect(eventIds).toHaveLength(1);
  });
});
