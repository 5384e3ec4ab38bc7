import { ListSecretsCommand, ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Sandbox } from '#sandbox/world/Sandbox.js';

/** What the sandbox holds, in a comparable form: taken before and after a bad input to prove it changed nothing. */
export interface WorldState {
  readonly executions: readonly string[];
  /** Every ledger item as sorted-key JSON, sorted. */
  readonly ledger: readonly string[];
  /** Secret name → version id → its staging labels (sorted). */
  readonly secrets: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  /** Requests to Stytch's `*.secrets.*` routes so far. */
  readonly stytchSecretCalls: number;
}

/** The sandbox's executions, ledger, secret versions and Stytch secret calls, now. */
export async function worldStateOf(sandbox: Sandbox): Promise<WorldState> {
  const documents = DynamoDBDocumentClient.from(sandbox.aws.dynamo);
  const ledger: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({ TableName: sandbox.tableName, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) ledger.push(JSON.stringify(item, Object.keys(item).sort()));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);

  const secrets: Record<string, Record<string, string[]>> = {};
  let nextToken: string | undefined;
  do {
    const page = await sandbox.aws.secretsManager.send(new ListSecretsCommand({ NextToken: nextToken }));
    for (const secret of page.SecretList ?? []) {
      const name = secret.Name ?? '';
      const versions = await sandbox.aws.secretsManager.send(
        new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }),
      );
      secrets[name] = Object.fromEntries(
        (versions.Versions ?? [])
          .map((version) => [version.VersionId ?? '', [...(version.VersionStages ?? [])].sort()] as const)
          .sort(([a], [b]) => a.localeCompare(b)),
      );
    }
    nextToken = page.NextToken;
  } while (nextToken !== undefined);

  return {
    executions: sandbox.executor.listExecutions().map((execution) => execution.executionArn),
    ledger: ledger.sort(),
    secrets,
    stytchSecretCalls: (sandbox.emulator?.requestLog() ?? []).filter((request) =>
      request.route?.includes('.secrets.'),
    ).length,
  };
}
