import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type {
  ClientRef,
  KnownLabels,
  ManagedSecretValue,
  PutPendingOptions,
  SecretStorePort,
  SecretVersions,
  StoredSecretValue,
} from '#core/ports.js';
import { Secret } from '#core/secret.js';
import {
  type AwsCallContext,
  awsErrorCode,
  issueSummaries,
  SecretValueFormatError,
  SecretVersionConflictError,
  SecretVersionNotFoundError,
  wrapAwsError,
} from './errors.js';
import { secretsManagerSdk } from './sdk/secretsManager.js';

/** The staging labels the rotation uses, exactly as AWS's native rotation does. */
export const STAGES = {
  current: 'AWSCURRENT',
  pending: 'AWSPENDING',
  previous: 'AWSPREVIOUS',
} as const;

/** Default name prefix: secrets are `stytch/m2m/<client_id>`. */
export const DEFAULT_SECRET_PREFIX = 'stytch/m2m';

/** Props of {@link SecretsManagerStore}. */
export interface SecretsManagerStoreProps {
  /** Built once per container by the handler. */
  readonly client: SecretsManagerClient;
  /**
   * Secret names are `<prefix>/<clientId>`; a trailing `/` is ignored.
   * @default 'stytch/m2m'
   */
  readonly prefix?: string;
}

/**
 * The `SecretString` of a managed secret: exactly these four snake_case keys, nothing else (an
 * unknown key is an error, so no other secret material can ride along).
 */
const ManagedSecretJsonSchema = z.strictObject({
  project_id: z.string().min(1),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  token_url: z.url(),
});

type VersionMap = Readonly<Record<string, readonly string[]>>;

/**
 * {@link SecretStorePort} over AWS Secrets Manager: one secret per managed client, versions
 * labelled `AWSCURRENT` / `AWSPENDING` / `AWSPREVIOUS`.
 *
 * Every value read names its `VersionStage` explicitly (AWS defaults to AWSCURRENT, moto does
 * not). Every write is idempotent: each method first reads the labels (DescribeSecret, or takes
 * the ones the caller read in this step) and changes only what is not already as wanted, so a
 * retry after a crash at any point converges.
 * The caller holds the client's rotation lock, so no two rotations move labels at once.
 */
export class SecretsManagerStore implements SecretStorePort {
  readonly #client: SecretsManagerClient;
  readonly #prefix: string;

  public constructor(props: SecretsManagerStoreProps) {
    this.#client = props.client;
    this.#prefix = (props.prefix ?? DEFAULT_SECRET_PREFIX).replace(/\/+$/, '');
  }

  public secretIdOf(client: ClientRef): string {
    return `${this.#prefix}/${client.clientId}`;
  }

  public async versions(client: ClientRef): Promise<SecretVersions> {
    const map = await this.#describe(this.secretIdOf(client));
    return {
      currentVersionId: holderOf(map, STAGES.current),
      pendingVersionId: holderOf(map, STAGES.pending),
      previousVersionId: holderOf(map, STAGES.previous),
    };
  }

  /**
   * GetSecretValue by `stage` (always named: see above). The answer says which version that is and
   * the labels it carries, which the value is returned with.
   */
  public async read(
    client: ClientRef,
    stage: 'AWSCURRENT' | 'AWSPENDING' | 'AWSPREVIOUS',
  ): Promise<StoredSecretValue | null> {
    const secretId = this.secretIdOf(client);
    const { GetSecretValueCommand } = await secretsManagerSdk();
    const context: AwsCallContext = {
      service: 'SecretsManager',
      operation: 'GetSecretValue',
      resource: secretId,
    };
    let answer: { SecretString?: string; VersionId?: string; VersionStages?: string[] };
    try {
      answer = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }),
      );
    } catch (error) {
      // AWS answers ResourceNotFoundException both for a missing secret and for a stage no version
      // carries: DescribeSecret tells them apart (and throws for a missing secret).
      if (awsErrorCode(error) !== 'ResourceNotFoundException') throw wrapAwsError(error, context);
      const holder = holderOf(await this.#describe(secretId), stage);
      if (holder === null) return null;
      // The label arrived between the two calls: read the version that has it now.
      try {
        answer = await this.#client.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionId: holder, VersionStage: stage }),
        );
      } catch (retryError) {
        throw wrapAwsError(retryError, context);
      }
    }
    const value = parseSecretString(answer.SecretString, secretId, stage, client.clientId);
    if (answer.VersionId !== undefined) {
      return { ...value, versionId: answer.VersionId, versionStages: [...(answer.VersionStages ?? [stage])] };
    }
    // AWS names the version it answers with; an answer without it is settled by the labels.
    const map = await this.#describe(secretId);
    const holder = holderOf(map, stage);
    if (holder === null) throw new SecretValueFormatError(secretId, stage, ['VersionId: missing']);
    return { ...value, versionId: holder, versionStages: [...(map[holder] ?? [stage])] };
  }

  /**
   * Stores `value` as version `versionId` labelled AWSPENDING. Idempotent: when that version
   * already carries AWSPENDING (or AWSCURRENT: it was promoted already) nothing is written.
   *
   * A different version holding AWSPENDING is a stale pending secret (a rotation that crashed
   * before cancelling). Its label is removed first, explicitly: AWS would also move the label on
   * PutSecretValue, but removing it ourselves keeps the transition visible and does not depend on
   * that implicit move. Readers then see no pending version, which is safe: the current secret
   * still works. The stale version stays, unlabelled, for AWS to clean up.
   *
   * With `options.known` (the holders of AWSCURRENT and AWSPENDING the caller read in this step)
   * no DescribeSecret is made up front; a version `versionId` that exists without labels is then
   * found out from PutSecretValue's answer (the labels it reports lack AWSPENDING).
   *
   * @throws {SecretVersionConflictError} when `versionId` already holds a different value
   *   (AWS's ResourceExistsException): permanent
   * @throws {SecretValueFormatError} when `value` names another client, before any call
   */
  public async putPending(
    client: ClientRef,
    versionId: string,
    value: ManagedSecretValue,
    options: PutPendingOptions = {},
  ): Promise<void> {
    const secretId = this.secretIdOf(client);
    if (value.clientId !== client.clientId) {
      // Another client's credentials under this client's name would break every consumer.
      throw new SecretValueFormatError(secretId, STAGES.pending, ['client_id: does_not_match_secret_name']);
    }
    const map = options.known === undefined ? await this.#describe(secretId) : labelMap(options.known);
    const existing = map[versionId];
    if (existing?.includes(STAGES.pending) || existing?.includes(STAGES.current)) return;

    const stale = holderOf(map, STAGES.pending);
    if (stale !== null) await this.#removeLabel(secretId, STAGES.pending, stale);

    const { PutSecretValueCommand } = await secretsManagerSdk();
    let labelled: boolean;
    try {
      const put = await this.#client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: versionId,
          SecretString: serialize(value),
          VersionStages: [STAGES.pending],
        }),
      );
      // No labels in the answer: only a DescribeSecret can tell (when the caller's labels spared the first one).
      labelled = put.VersionStages?.includes(STAGES.pending) ?? options.known === undefined;
    } catch (error) {
      if (awsErrorCode(error) === 'ResourceExistsException') {
        throw new SecretVersionConflictError(secretId, versionId, { cause: error });
      }
      throw wrapAwsError(error, {
        service: 'SecretsManager',
        operation: 'PutSecretValue',
        resource: secretId,
      });
    }

    if (existing !== undefined || !labelled) {
      // The version existed without labels (its pending label was removed earlier). AWS ignores a
      // PutSecretValue that repeats a version's value, labels included, so attach the label here.
      const after = await this.#describe(secretId);
      if (!after[versionId]?.includes(STAGES.pending)) {
        await this.#update(secretId, {
          VersionStage: STAGES.pending,
          MoveToVersionId: versionId,
          ...removeFrom(holderOf(after, STAGES.pending)),
        });
      }
    }
  }

  /**
   * Moves AWSCURRENT to `versionId` (AWS moves AWSPREVIOUS to the old current version), then
   * removes AWSPENDING from it. Each step is skipped when already done, so a re-run after a crash
   * between them finishes the job.
   * @throws {SecretVersionNotFoundError} (permanent) when `versionId` is not a version of the secret
   */
  public async promotePending(client: ClientRef, versionId: string, known?: KnownLabels): Promise<void> {
    const secretId = this.secretIdOf(client);
    let current: boolean;
    let pending: boolean;
    let currentHolder: string | null;
    if (
      known !== undefined &&
      (known.currentVersionId === versionId || known.pendingVersionId === versionId)
    ) {
      // The caller's fresh read says where the labels are: no DescribeSecret. (A version holding
      // neither label may not exist at all: only a read can tell.)
      current = known.currentVersionId === versionId;
      pending = known.pendingVersionId === versionId;
      currentHolder = known.currentVersionId;
    } else {
      const map = await this.#describe(secretId);
      const stages = map[versionId];
      if (stages === undefined) throw new SecretVersionNotFoundError(secretId, versionId);
      current = stages.includes(STAGES.current);
      pending = stages.includes(STAGES.pending);
      currentHolder = holderOf(map, STAGES.current);
    }
    if (!current) {
      await this.#update(secretId, {
        VersionStage: STAGES.current,
        MoveToVersionId: versionId,
        ...removeFrom(currentHolder),
      });
    }
    if (pending) {
      await this.#removeLabel(secretId, STAGES.pending, versionId);
    }
  }

  public async removePending(client: ClientRef, versionId: string): Promise<void> {
    const secretId = this.secretIdOf(client);
    const map = await this.#describe(secretId);
    if (map[versionId]?.includes(STAGES.pending)) {
      await this.#removeLabel(secretId, STAGES.pending, versionId);
    }
  }

  /** Whether the client's secret exists (DescribeSecret; AWS's ResourceNotFoundException is false). */
  public async exists(client: ClientRef): Promise<boolean> {
    const secretId = this.secretIdOf(client);
    const { DescribeSecretCommand } = await secretsManagerSdk();
    try {
      await this.#client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return true;
    } catch (error) {
      if (awsErrorCode(error) === 'ResourceNotFoundException') return false;
      throw wrapAwsError(error, {
        service: 'SecretsManager',
        operation: 'DescribeSecret',
        resource: secretId,
      });
    }
  }

  /**
   * The client ids of the secrets named `<prefix>/<clientId>` (ListSecrets filtered by the prefix),
   * sorted; names whose rest is not a client id (a deeper path, odd characters) are left out.
   */
  public async clientIds(): Promise<string[]> {
    const namePrefix = `${this.#prefix}/`;
    const { ListSecretsCommand } = await secretsManagerSdk();
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      let page: { SecretList?: { Name?: string }[]; NextToken?: string };
      try {
        page = await this.#client.send(
          new ListSecretsCommand({
            Filters: [{ Key: 'name', Values: [namePrefix] }],
            MaxResults: 100,
            NextToken: nextToken,
          }),
        );
      } catch (error) {
        throw wrapAwsError(error, {
          service: 'SecretsManager',
          operation: 'ListSecrets',
          resource: namePrefix,
        });
      }
      for (const secret of page.SecretList ?? []) {
        const name = secret.Name ?? '';
        // Only names that start with the prefix exactly (the name filter is a looser match).
        const id = name.startsWith(namePrefix) ? name.slice(namePrefix.length) : '';
        if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) ids.push(id);
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return ids.sort();
  }

  /** When version `versionId` of the client's secret was created (ListSecretVersionIds); undefined if unknown. */
  public async createdAt(client: ClientRef, versionId: string): Promise<Date | undefined> {
    const secretId = this.secretIdOf(client);
    const { ListSecretVersionIdsCommand } = await secretsManagerSdk();
    let nextToken: string | undefined;
    do {
      let page: { Versions?: { VersionId?: string; CreatedDate?: Date }[]; NextToken?: string };
      try {
        page = await this.#client.send(
          new ListSecretVersionIdsCommand({
            SecretId: secretId,
            IncludeDeprecated: true,
            NextToken: nextToken,
          }),
        );
      } catch (error) {
        throw wrapAwsError(error, {
          service: 'SecretsManager',
          operation: 'ListSecretVersionIds',
          resource: secretId,
        });
      }
      const version = page.Versions?.find((v) => v.VersionId === versionId);
      if (version !== undefined) return version.CreatedDate;
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return undefined;
  }

  /**
   * Stores `value` as the client's AWSCURRENT secret (what `rotator register` does): creates the
   * secret, tagged `managed-by=stytch-m2m-rotator`, or, when it exists already (a re-run), puts
   * `value` as a new AWSCURRENT version.
   * @returns the id of the version that holds `value`
   */
  public async createCurrent(
    client: ClientRef,
    value: ManagedSecretValue,
    options: { readonly description: string; readonly kmsKeyId?: string },
  ): Promise<string> {
    const secretId = this.secretIdOf(client);
    const { CreateSecretCommand, PutSecretValueCommand } = await secretsManagerSdk();
    try {
      const created = await this.#client.send(
        new CreateSecretCommand({
          Name: secretId,
          Description: options.description,
          SecretString: serialize(value),
          ...(options.kmsKeyId === undefined ? {} : { KmsKeyId: options.kmsKeyId }),
          Tags: [{ Key: 'managed-by', Value: 'stytch-m2m-rotator' }],
        }),
      );
      return created.VersionId ?? '';
    } catch (error) {
      if (awsErrorCode(error) !== 'ResourceExistsException') {
        throw wrapAwsError(error, {
          service: 'SecretsManager',
          operation: 'CreateSecret',
          resource: secretId,
        });
      }
    }
    try {
      const put = await this.#client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: serialize(value),
          VersionStages: [STAGES.current],
        }),
      );
      return put.VersionId ?? '';
    } catch (error) {
      throw wrapAwsError(error, {
        service: 'SecretsManager',
        operation: 'PutSecretValue',
        resource: secretId,
      });
    }
  }

  async #describe(secretId: string): Promise<VersionMap> {
    const { DescribeSecretCommand } = await secretsManagerSdk();
    try {
      const { VersionIdsToStages } = await this.#client.send(
        new DescribeSecretCommand({ SecretId: secretId }),
      );
      return VersionIdsToStages ?? {};
    } catch (error) {
      throw wrapAwsError(error, {
        service: 'SecretsManager',
        operation: 'DescribeSecret',
        resource: secretId,
      });
    }
  }

  #removeLabel(secretId: string, stage: string, versionId: string): Promise<void> {
    return this.#update(secretId, { VersionStage: stage, RemoveFromVersionId: versionId });
  }

  async #update(
    secretId: string,
    input: { VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string },
  ): Promise<void> {
    const { UpdateSecretVersionStageCommand } = await secretsManagerSdk();
    try {
      await this.#client.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, ...input }));
    } catch (error) {
      throw wrapAwsError(error, {
        service: 'SecretsManager',
        operation: 'UpdateSecretVersionStage',
        resource: secretId,
      });
    }
  }
}

/** The labels of `known` as DescribeSecret's map would hold them (versions without these labels left out). */
function labelMap(known: KnownLabels): VersionMap {
  const map: Record<string, string[]> = {};
  const add = (versionId: string | null, stage: string) => {
    if (versionId !== null) map[versionId] = [...(map[versionId] ?? []), stage];
  };
  add(known.currentVersionId, STAGES.current);
  add(known.pendingVersionId, STAGES.pending);
  return map;
}

/** The version carrying `stage`, or null. */
function holderOf(map: VersionMap, stage: string): string | null {
  for (const [versionId, stages] of Object.entries(map)) {
    if (stages.includes(stage)) return versionId;
  }
  return null;
}

function removeFrom(versionId: string | null): { RemoveFromVersionId?: string } {
  return versionId === null ? {} : { RemoveFromVersionId: versionId };
}

function serialize(value: ManagedSecretValue): string {
  return JSON.stringify({
    project_id: value.projectId,
    client_id: value.clientId,
    client_secret: value.clientSecret.reveal(),
    token_url: value.tokenUrl,
  });
}

function parseSecretString(
  secretString: string | undefined,
  secretId: string,
  stage: string,
  clientId: string,
): ManagedSecretValue {
  if (secretString === undefined) throw new SecretValueFormatError(secretId, stage, ['(root): not_a_string']);
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    // Not wrapped: a SyntaxError's message quotes the text it failed on, which is the secret.
    throw new SecretValueFormatError(secretId, stage, ['(root): invalid_json']);
  }
  const parsed = ManagedSecretJsonSchema.safeParse(json);
  if (!parsed.success) throw new SecretValueFormatError(secretId, stage, issueSummaries(parsed.error.issues));
  if (parsed.data.client_id !== clientId) {
    throw new SecretValueFormatError(secretId, stage, ['client_id: does_not_match_secret_name']);
  }
  return {
    projectId: parsed.data.project_id,
    clientId: parsed.data.client_id,
    clientSecret: new Secret(parsed.data.client_secret),
    tokenUrl: parsed.data.token_url,
  };
}
