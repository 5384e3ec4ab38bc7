import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { RotatorError } from '#core/errors.js';
import { type FingerprintPort, fingerprintOf, MIN_FINGERPRINT_KEY_LENGTH } from '#core/fingerprint.js';
import { Secret } from '#core/secret.js';
import { wrapAwsError } from './errors.js';
import { secretsManagerSdk } from './sdk/secretsManager.js';

/** The fingerprint key secret is missing, unreadable or too short. Permanent. */
export class FingerprintKeyError extends RotatorError {
  public constructor(secretId: string, problem: string, options: ErrorOptions = {}) {
    super(`Fingerprint key in ${secretId}: ${problem}`, options);
    this.name = 'FingerprintKeyError';
  }
}

/** Props of {@link SecretsManagerFingerprints}. */
export interface SecretsManagerFingerprintsProps {
  readonly client: SecretsManagerClient;
  /** Name or ARN of the secret whose SecretString is the key. */
  readonly keySecretId: string;
}

/**
 * Fingerprints computed in this process with the key read from Secrets Manager once (per
 * container, or per CLI run): the value being fingerprinted never leaves the process.
 */
export class SecretsManagerFingerprints implements FingerprintPort {
  readonly #props: SecretsManagerFingerprintsProps;
  #key: Promise<Secret> | undefined;

  public constructor(props: SecretsManagerFingerprintsProps) {
    this.#props = props;
  }

  public async fingerprint(secret: Secret | string): Promise<string> {
    return fingerprintOf(await this.#readKey(), secret);
  }

  #readKey(): Promise<Secret> {
    this.#key ??= this.#fetchKey().catch((error: unknown) => {
      this.#key = undefined; // a throttled read may succeed next time
      throw error;
    });
    return this.#key;
  }

  async #fetchKey(): Promise<Secret> {
    const { client, keySecretId } = this.#props;
    const { GetSecretValueCommand } = await secretsManagerSdk();
    let text: string | undefined;
    try {
      ({ SecretString: text } = await client.send(
        new GetSecretValueCommand({ SecretId: keySecretId, VersionStage: 'AWSCURRENT' }),
      ));
    } catch (error) {
      throw wrapAwsError(error, {
        service: 'SecretsManager',
        operation: 'GetSecretValue',
        resource: keySecretId,
      });
    }
    if (text === undefined || text.length < MIN_FINGERPRINT_KEY_LENGTH) {
      throw new FingerprintKeyError(
        keySecretId,
        `must be a SecretString of at least ${MIN_FINGERPRINT_KEY_LENGTH} characters`,
      );
    }
    return new Secret(text);
  }
}
