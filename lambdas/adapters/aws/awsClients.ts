import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from './DynamoLedger.js';
import { DynamoRateBudgetStore } from './DynamoRateBudgetStore.js';

/**
 * SDK v3 settings every client of an {@link AwsClients} gets; unset ones come from the standard SDK
 * configuration (AWS_REGION, the credential chain, …).
 */
export interface AwsClientSettings {
  readonly region?: string;
  /** One endpoint for every service (the sandbox's gateway or moto). */
  readonly endpoint?: string;
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/**
 * Lazily built SDK clients for one short-lived run (a CLI command): each is made on first use with
 * the same settings, and {@link close} destroys those that were made. The adapters take them as
 * their `client` prop; only adapter code imports the SDK.
 */
export class AwsClients {
  readonly #settings: AwsClientSettings;
  #sfn?: SFNClient;
  #secrets?: SecretsManagerClient;
  #dynamo?: DynamoDBClient;
  #events?: EventBridgeClient;
  #scheduler?: SchedulerClient;
  #cloudFormation?: CloudFormationClient;
  #s3?: S3Client;

  public constructor(settings: AwsClientSettings) {
    this.#settings = settings;
  }

  public get sfn(): SFNClient {
    this.#sfn ??= new SFNClient(this.#settings);
    return this.#sfn;
  }

  public get secretsManager(): SecretsManagerClient {
    this.#secrets ??= new SecretsManagerClient(this.#settings);
    return this.#secrets;
  }

  public get eventBridge(): EventBridgeClient {
    this.#events ??= new EventBridgeClient(this.#settings);
    return this.#events;
  }

  public get scheduler(): SchedulerClient {
    this.#scheduler ??= new SchedulerClient(this.#settings);
    return this.#scheduler;
  }

  public get cloudFormation(): CloudFormationClient {
    this.#cloudFormation ??= new CloudFormationClient(this.#settings);
    return this.#cloudFormation;
  }

  /** Path-style addressing with a custom endpoint (moto, the sandbox's gateway): no bucket DNS there. */
  public get s3(): S3Client {
    this.#s3 ??= new S3Client({ ...this.#settings, forcePathStyle: this.#settings.endpoint !== undefined });
    return this.#s3;
  }

  /** The ledger in `tableName`, over this run's one DynamoDB client. */
  public ledger(tableName: string): DynamoLedger {
    this.#dynamo ??= new DynamoDBClient(this.#settings);
    return new DynamoLedger({ client: DynamoDBDocumentClient.from(this.#dynamo), tableName });
  }

  /** The shared rate budgets' counters in `tableName`, over this run's one DynamoDB client. */
  public rateBudgetStore(tableName: string): DynamoRateBudgetStore {
    this.#dynamo ??= new DynamoDBClient(this.#settings);
    return new DynamoRateBudgetStore({ client: DynamoDBDocumentClient.from(this.#dynamo), tableName });
  }

  /** Destroys every client made so far (their sockets would otherwise keep the process alive). */
  public close(): void {
    for (const client of [
      this.#sfn,
      this.#secrets,
      this.#dynamo,
      this.#events,
      this.#scheduler,
      this.#cloudFormation,
      this.#s3,
    ]) {
      client?.destroy();
    }
  }
}
