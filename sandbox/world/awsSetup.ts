import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  type EventBridgeClient,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ledgerTableDefinition } from '#adapters/aws/DynamoLedger.js';

/**
 * Creates, in the AWS emulator, what `cdk deploy` creates in an account and the sandbox needs:
 * the ledger table, the event bus, and secrets. Idempotent, so a sandbox can reuse a running moto
 * (`--aws-endpoint`) run after run.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

export async function ensureEventBus(client: EventBridgeClient, name: string): Promise<void> {
  try {
    await client.send(new CreateEventBusCommand({ Name: name }));
  } catch (error) {
    if (!(error instanceof ResourceAlreadyExistsException)) throw error;
  }
}

/**
 * Creates the secret with `value` as AWSCURRENT, or writes a new AWSCURRENT version if it exists;
 * returns its ARN and the version id now labelled AWSCURRENT.
 */
export async function putSecret(
  client: SecretsManagerClient,
  name: string,
  value: string,
): Promise<{ arn: string; versionId: string }> {
  try {
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    return { arn: created.ARN ?? name, versionId: created.VersionId ?? '' };
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    const put = await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: value, VersionStages: ['AWSCURRENT'] }),
    );
    return { arn: put.ARN ?? name, versionId: put.VersionId ?? '' };
  }
}
