import { Secret } from '#core/secret.js';
import { SecretFormatError } from './errors.js';
import type { ClientCredentials } from './tokenEndpoint.js';

/** The staging labels the library reads. */
export type Stage = 'AWSCURRENT' | 'AWSPENDING';

/** One version of the secret, parsed. */
export interface SecretVersion {
  readonly versionId: string;
  readonly credentials: ClientCredentials;
}

/** Where the library reads the secret: Secrets Manager, narrowed to the two calls it makes. */
export interface SecretSource {
  /** The version `stage` labels now; undefined when no version has that label (no rotation pending). */
  read(secretId: string, stage: Stage): Promise<SecretVersion | undefined>;
  /** Version id → staging labels, as DescribeSecret's `VersionIdsToStages`. */
  stages(secretId: string): Promise<Readonly<Record<string, readonly string[]>>>;
}

/** The `Consumer Health Reported` detail, as the health aggregator validates it. */
export interface HealthReportDetail {
  readonly clientId: string;
  readonly rotationId: string;
  readonly pendingVersionId: string;
  readonly consumer: string;
  readonly healthy: boolean;
  readonly detail?: string;
}

/** Where health reports go: the rotator's event bus. */
export interface HealthReporter {
  report(detail: HealthReportDetail): Promise<void>;
}

/** Parses a managed client's `SecretString` (`{"project_id","client_id","client_secret","token_url"}`). */
export function parseSecretString(secretId: string, text: string | undefined): ClientCredentials {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new SecretFormatError(secretId, 'SecretString is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SecretFormatError(secretId, 'SecretString is not a JSON object');
  }
  const record = json as Record<string, unknown>;
  const missing = ['project_id', 'client_id', 'client_secret', 'token_url'].filter(
    (field) => typeof record[field] !== 'string' || record[field] === '',
  );
  if (missing.length > 0) throw new SecretFormatError(secretId, `missing or empty ${missing.join(', ')}`);
  try {
    new URL(String(record.token_url));
  } catch {
    throw new SecretFormatError(secretId, 'token_url is not a URL');
  }
  return {
    projectId: String(record.project_id),
    clientId: String(record.client_id),
    clientSecret: new Secret(String(record.client_secret)),
    tokenUrl: String(record.token_url),
  };
}
