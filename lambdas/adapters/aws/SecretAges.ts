import type {
  ListSecretVersionIdsCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretAgePort } from '#core/secretAge.js';
import { AwsAdapterError, wrapAwsError } from './errors.js';
import { DEFAULT_SECRET_PREFIX, STAGES } from './SecretsManagerStore.js';
import { secretsManagerSdk } from './sdk/secretsManager.js';

/** Props of {@link SecretAges}. */
export interface SecretAgesProps {
  /** Built once per container by the handler. */
  readonly client: SecretsManagerClient;
  /**
   * Secret names are `<prefix>/<clientId>`; a trailing `/` is ignored.
   * @default 'stytch/m2m'
   */
  readonly prefix?: string;
}

/**
 * A managed secret has no version labelled `AWSCURRENT` with a creation date (it was never
 * written, or Secrets Manager left the date out). Permanent.
 */
export class CurrentVersionMissingError extends AwsAdapterError {
  public readonly secretId: string;

  public constructor(secretId: string) {
    super(`Secret ${secretId} has no ${STAGES.current} version with a creation date`);
    this.name = 'CurrentVersionMissingError';
    this.secretId = secretId;
  }
}

/**
 * {@link SecretAgePort} over AWS Secrets Manager: `ListSecretVersionIds` (metadata only, no value
 * is read, so no `kms:Decrypt` is needed), then the `CreatedDate` of the version carrying
 * `AWSCURRENT`. Pages until it finds that version.
 */
export class SecretAges implements SecretAgePort {
  readonly #client: SecretsManagerClient;
  readonly #prefix: string;

  public constructor(props: SecretAgesProps) {
    this.#client = props.client;
    this.#prefix = (props.prefix ?? DEFAULT_SECRET_PREFIX).replace(/\/+$/, '');
  }

  /** The managed secret of `clientId`: `<prefix>/<clientId>`. */
  public secretIdOf(clientId: string): string {
    return `${this.#prefix}/${clientId}`;
  }

  public async currentVersionCreatedAt(clientId: string): Promise<Date> {
    const secretId = this.secretIdOf(clientId);
    const { ListSecretVersionIdsCommand } = await secretsManagerSdk();
    let nextToken: string | undefined;
    do {
      let page: ListSecretVersionIdsCommandOutput;
      try {
        page = await this.#client.send(
          new ListSecretVersionIdsCommand({
            SecretId: secretId,
            MaxResults: 100,
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        );
      } catch (error) {
        throw wrapAwsError(error, {
          service: 'SecretsManager',
          operation: 'ListSecretVersionIds',
          resource: secretId,
        });
      }
      const current = page.Versions?.find((version) => version.VersionStages?.includes(STAGES.current));
      if (current !== undefined) {
        if (current.CreatedDate === undefined) throw new CurrentVersionMissingError(secretId);
        return current.CreatedDate;
      }
      // An empty token ends the listing too (moto sends "" on the last page).
      nextToken = page.NextToken === '' ? undefined : page.NextToken;
    } while (nextToken !== undefined);
    throw new CurrentVersionMissingError(secretId);
  }
}
