import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { freePort, startMotoServer } from '#sandbox/motoServer.js';

/**
 * The sandbox's moto_server as a process: it stops when asked, when the start is aborted, and when
 * the process that started it dies without asking; and it answers ListSecretVersionIds as AWS does.
 */

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** The live (not zombie) moto_server processes listening on `port`. */
function motoOn(port: string | number): string {
  return spawnSync('pgrep', ['-f', `moto_server -H 127.0.0.1 -p ${port}$`])
    .stdout.toString()
    .trim();
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A moto_server of its own, and a Secrets Manager client on it, for one test. */
async function withMotoSecrets(use: (secrets: SecretsManagerClient) => Promise<void>): Promise<void> {
  const moto = await startMotoServer();
  const secrets = new SecretsManagerClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  try {
    await use(secrets);
  } finally {
    secrets.destroy();
    await moto.stop();
  }
}

/** A moto_server of its own, and a DynamoDB client on it, for one test. */
async function withMotoDynamo(use: (dynamo: DynamoDBClient) => Promise<void>): Promise<void> {
  const moto = await startMotoServer();
  const dynamo = new DynamoDBClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  try {
    await use(dynamo);
  } finally {
    dynamo.destroy();
    await moto.stop();
  }
}

describe('startMotoServer', () => {
  it('stop() ends the process and closes the port', async () => {
    // Prepare
    const moto = await startMotoServer();
    const { port } = new URL(moto.endpoint);
    expect(motoOn(port)).not.toBe('');

    // Act
    await moto.stop();

    // Assess
    expect(motoOn(port)).toBe('');
    expect(await answers(moto.endpoint)).toBe(false);
  });

  it('aborting the start kills the server it spawned and rejects with the reason', async () => {
    // Prepare
    const port = await freePort();
    const abort = new AbortController();
    const starting = startMotoServer({ port, signal: abort.signal });
    await until(() => motoOn(port) !== '', 'moto_server to be spawned');

    // Act
    abort.abort(new Error('stop now'));

    // Assess
    await expect(starting).rejects.toThrow('stop now');
    await until(() => motoOn(port) === '', 'moto_server to exit');
    expect(await answers(`http://127.0.0.1:${port}`)).toBe(false);
  });

  it('does not outlive the process that started it when that one is killed (SIGKILL, nothing stops moto)', async () => {
    // Prepare: a Node process that starts moto, prints its endpoint, and is then killed outright.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "import { startMotoServer } from '#sandbox/motoServer.js'; const m = await startMotoServer(); " +
          'console.log(m.endpoint); setInterval(() => {}, 1000);',
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await until(() => stdout.includes('\n'), 'the endpoint');
    const endpoint = stdout.trim();
    expect(await answers(endpoint)).toBe(true);

    // Act
    child.kill('SIGKILL');
    await exited;

    // Assess
    await until(async () => !(await answers(endpoint)), 'moto to stop answering');
    await until(() => motoOn(new URL(endpoint).port) === '', 'moto_server to exit');
  }, 30_000);

  it('answers ListSecretVersionIds with when each version was created, as AWS does (moto alone: the request time)', async () => {
    // Prepare
    await withMotoSecrets(async (secrets) => {
      const created = await secrets.send(
        new CreateSecretCommand({ Name: 'stytch/m2m/aged', SecretString: '1' }),
      );
      const put = await secrets.send(
        new PutSecretValueCommand({ SecretId: 'stytch/m2m/aged', SecretString: '2' }),
      );
      const asCreated = async (versionId: string | undefined) =>
        (await secrets.send(new GetSecretValueCommand({ SecretId: 'stytch/m2m/aged', VersionId: versionId })))
          .CreatedDate;
      const createdDates = [await asCreated(created.VersionId), await asCreated(put.VersionId)];
      // Seconds are its resolution: past the next whole second, "now" would differ from both.
      await new Promise((resolve) => setTimeout(resolve, 1100));

      // Act
      const { Versions = [] } = await secrets.send(
        new ListSecretVersionIdsCommand({ SecretId: 'stytch/m2m/aged', IncludeDeprecated: true }),
      );

      // Assess
      const listed = Object.fromEntries(Versions.map((version) => [version.VersionId, version.CreatedDate]));
      expect([listed[created.VersionId ?? ''], listed[put.VersionId ?? '']]).toEqual(createdDates);
      for (const date of createdDates) expect(date?.getTime()).toBeLessThan(Date.now() - 1000);
    });
  });

  it('answers GetSecretValue without a stage with the version labelled AWSCURRENT after the label moved, as AWS does', async () => {
    // Prepare
    await withMotoSecrets(async (secrets) => {
      const created = await secrets.send(
        new CreateSecretCommand({ Name: 'stytch/m2m/moved', SecretString: 'old' }),
      );
      const pending = await secrets.send(
        new PutSecretValueCommand({
          SecretId: 'stytch/m2m/moved',
          SecretString: 'new',
          VersionStages: ['AWSPENDING'],
        }),
      );

      // Act: what the rotator's completion does
      await secrets.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'stytch/m2m/moved',
          VersionStage: 'AWSCURRENT',
          RemoveFromVersionId: created.VersionId,
          MoveToVersionId: pending.VersionId,
        }),
      );
      const unstaged = await secrets.send(new GetSecretValueCommand({ SecretId: 'stytch/m2m/moved' }));

      // Assess
      expect(unstaged).toMatchObject({ SecretString: 'new', VersionId: pending.VersionId });
      expect(unstaged.VersionStages).toContain('AWSCURRENT');
    });
  });

  it('never lets a read see half of an UpdateItem, as DynamoDB (moto alone applies it attribute by attribute)', async () => {
    // Prepare
    await withMotoDynamo(async (dynamo) => {
      await dynamo.send(
        new CreateTableCommand({
          TableName: 'atomic',
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        }),
      );
      await dynamo.send(new PutItemCommand({ TableName: 'atomic', Item: { pk: { S: 'r' }, n: { N: '0' } } }));
      const fields = Array.from({ length: 40 }, (_, k) => `f${k}`);
      const torn: string[] = [];
      let writing = true;

      // Act: writers set all 40 fields to the same value while readers query the item
      const writers = (async () => {
        for (let i = 1; i <= 60; i += 1) {
          await dynamo.send(
            new UpdateItemCommand({
              TableName: 'atomic',
              Key: { pk: { S: 'r' } },
              UpdateExpression: `SET ${fields.map((field) => `${field} = :v`).join(', ')}`,
              ExpressionAttributeValues: { ':v': { N: String(i) } },
            }),
          );
        }
        writing = false;
      })();
      const readers = Array.from({ length: 3 }, async () => {
        while (writing) {
          const { Items = [] } = await dynamo.send(
            new QueryCommand({
              TableName: 'atomic',
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': { S: 'r' } },
            }),
          );
          const values = new Set(fields.map((field) => Items[0]?.[field]?.N));
          if (values.size > 1) torn.push([...values].join(','));
        }
      });
      await Promise.all([writers, ...readers]);

      // Assess
      expect(torn).toEqual([]);
    });
  }, 60_000);

  it('undoes every item of a cancelled TransactWriteItems and leaves the rest of the table alone (the sandbox backs up only the items a transaction names)', async () => {
    // Prepare
    await withMotoDynamo(async (dynamo) => {
      const table = 'transactions';
      const key = (pk: string) => ({ pk: { S: pk }, sk: { S: 'item' } });
      const item = async (pk: string) =>
        (await dynamo.send(new GetItemCommand({ TableName: table, Key: key(pk), ConsistentRead: true })))
          .Item;
      await dynamo.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
        }),
      );
      for (const pk of ['updated', 'deleted', 'guard', 'bystander']) {
        await dynamo.send(new PutItemCommand({ TableName: table, Item: { ...key(pk), v: { S: 'before' } } }));
      }
      // A committed transaction first: the backup of one must not be put back by the next.
      await dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: table,
                Key: key('updated'),
                UpdateExpression: 'SET v = :v',
                ExpressionAttributeValues: { ':v': { S: 'committed' } },
              },
            },
          ],
        }),
      );

      // Act: a put of a new item, an update, a delete, then a condition that fails
      const cancelled = dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: table, Item: { ...key('created'), v: { S: 'new' } } } },
            {
              Update: {
                TableName: table,
                Key: key('updated'),
                UpdateExpression: 'SET v = :v, extra = :v',
                ExpressionAttributeValues: { ':v': { S: 'rolled back' } },
              },
            },
            { Delete: { TableName: table, Key: key('deleted') } },
            {
              ConditionCheck: {
                TableName: table,
                Key: key('guard'),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );

      // Assess
      await expect(cancelled).rejects.toBeInstanceOf(TransactionCanceledException);
      expect(await item('created')).toBeUndefined();
      expect(await item('updated')).toEqual({ ...key('updated'), v: { S: 'committed' } });
      expect(await item('deleted')).toEqual({ ...key('deleted'), v: { S: 'before' } });
      expect(await item('bystander')).toEqual({ ...key('bystander'), v: { S: 'before' } });
      const { Count } = await dynamo.send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
      expect(Count).toBe(4);
      // The table still takes writes and transactions after the rollback.
      await dynamo.send(new DeleteItemCommand({ TableName: table, Key: key('bystander') }));
      await dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: table, Item: { ...key('created'), v: { S: 'later' } } } }],
        }),
      );
      expect(await item('created')).toEqual({ ...key('created'), v: { S: 'later' } });
      expect(await item('bystander')).toBeUndefined();
    });
  }, 60_000);
});
