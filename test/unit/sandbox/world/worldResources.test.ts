import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StytchClient } from '#adapters/stytch/index.js';
import { StytchEmulator } from '#sandbox/stytch-emulator/index.js';
import {
  createWorldResources,
  enrolClient,
  registerClient,
  WORLD_RESOURCE_NAMES,
} from '#sandbox/world/worldResources.js';
import { type MotoServer, startMoto } from '../../../support/moto.js';

let moto: MotoServer;
let emulator: StytchEmulator;
let stytch: StytchClient;

beforeAll(async () => {
  moto = await startMoto();
  emulator = await StytchEmulator.start();
  stytch = new StytchClient({
    projectId: emulator.projectId,
    secret: emulator.projectSecret,
    baseUrl: emulator.url,
  });
}, 60_000);

afterAll(async () => {
  await stytch?.close();
  await emulator?.stop();
  await moto?.stop();
});

describe('A world’s resources (sandbox/world/worldResources.ts)', () => {
  it('creates the table, the bus, the project credentials and a new fingerprint key, again on a second run', async () => {
    // Prepare
    const aws = {
      dynamo: moto.clients.dynamoDb(),
      eventBridge: moto.clients.eventBridge(),
      secretsManager: moto.clients.secretsManager(),
    };

    // Act
    const first = await createWorldResources(aws, WORLD_RESOURCE_NAMES, emulator);
    const second = await createWorldResources(aws, WORLD_RESOURCE_NAMES, emulator);

    // Assess
    const table = await aws.dynamo.send(
      new DescribeTableCommand({ TableName: WORLD_RESOURCE_NAMES.tableName }),
    );
    const bus = await aws.eventBridge.send(
      new DescribeEventBusCommand({ Name: WORLD_RESOURCE_NAMES.eventBusName }),
    );
    const credentials = await aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: WORLD_RESOURCE_NAMES.credentialsSecretId }),
    );
    const key = await aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: WORLD_RESOURCE_NAMES.fingerprintKeySecretId }),
    );
    expect(table.Table?.TableStatus).toBe('ACTIVE');
    expect(bus.Name).toBe(WORLD_RESOURCE_NAMES.eventBusName);
    expect(JSON.parse(credentials.SecretString ?? '')).toEqual({
      project_id: emulator.projectId,
      secret: emulator.projectSecret,
    });
    expect(second.credentialsArn).toBe(first.credentialsArn);
    expect(key.SecretString).toBe(second.fingerprintKey.reveal());
    expect(second.fingerprintKey.equals(first.fingerprintKey.reveal())).toBe(false);
  });

  it('registers an M2M client and a Connected App at Stytch and enrols each as a consumer reads it', async () => {
    // Prepare
    const secretsManager = moto.clients.secretsManager();

    // Act
    const m2m = await registerClient(emulator, stytch, {
      kind: 'm2m',
      clientId: 'world-resources-test-1',
      clientName: 'billing',
      scopes: ['read:invoices'],
    });
    const app = await registerClient(emulator, stytch, {
      kind: 'connected_app',
      clientId: 'portal',
      scopes: [],
    });
    const enrolled = await enrolClient(secretsManager, 'team/stytch', emulator, m2m);

    // Assess
    expect(m2m.clientId).toBe('world-resources-test-1');
    expect(await stytch.m2m.get(m2m.clientId)).toMatchObject({
      clientName: 'billing',
      clientSecretLastFour: m2m.clientSecret.lastFour,
    });
    expect((await stytch.connectedApps.get(app.clientId)).clientSecretLastFour).toBe(
      app.clientSecret.lastFour,
    );
    const stored = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: 'team/stytch/world-resources-test-1' }),
    );
    expect(stored.VersionId).toBe(enrolled.versionId);
    expect(JSON.parse(stored.SecretString ?? '')).toEqual({
      project_id: emulator.projectId,
      client_id: m2m.clientId,
      client_secret: m2m.clientSecret.reveal(),
      token_url: `${emulator.url}/v1/public/${emulator.projectId}/oauth2/token`,
    });
  });
});
