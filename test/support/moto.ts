import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startMotoServer } from '#sandbox/motoServer.js';
import { awsClientConfig, WORLD_REGION } from '#sandbox/world/awsClientConfig.js';

/**
 * A `moto_server` (Python moto, every AWS service on one port) for one test file, plus SDK v3
 * clients pointed at it. Start it in `beforeAll` and stop it in `afterAll`:
 *
 * @example
 * let moto: MotoServer;
 * beforeAll(async () => { moto = await startMoto(); });
 * afterAll(() => moto?.stop());
 * const secrets = moto.clients.secretsManager();
 *
 * See /work/shared/LOCAL-STACK.md for where moto deviates from AWS (test those cases with
 * aws-sdk-client-mock instead).
 */
export interface MotoServer {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** SDK v3 clients bound to this server (us-east-1, dummy credentials). */
  readonly clients: MotoClients;
  /** Kills the server and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** Builders of SDK v3 clients pointed at a moto server. */
export interface MotoClients {
  secretsManager(): SecretsManagerClient;
  dynamoDb(): DynamoDBClient;
  /** A document client over a fresh DynamoDBClient. */
  dynamoDbDocument(): DynamoDBDocumentClient;
  eventBridge(): EventBridgeClient;
  sfn(): SFNClient;
}

/** Options of {@link startMoto}. */
export interface StartMotoOptions {
  /**
   * The executable to run.
   * @default 'moto_server' (found on PATH)
   */
  readonly command?: string;
  /**
   * How long to wait for the server to answer.
   * @default 30_000
   */
  readonly readyTimeoutMs?: number;
}

/** The region and credentials every moto client uses; moto checks neither. */
export const MOTO_REGION = WORLD_REGION;
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

/**
 * Common constructor options of an SDK v3 client pointed at `endpoint`: the sandbox's
 * {@link awsClientConfig} with the tests' credentials.
 */
export function motoClientConfig(endpoint: string) {
  // A local server: fail fast instead of backing off on a mistake.
  return awsClientConfig(endpoint, MOTO_CREDENTIALS, { maxAttempts: 2 });
}

/** Builders of SDK v3 clients pointed at `endpoint`. */
export function motoClients(endpoint: string): MotoClients {
  const config = motoClientConfig(endpoint);
  return {
    secretsManager: () => new SecretsManagerClient(config),
    dynamoDb: () => new DynamoDBClient(config),
    dynamoDbDocument: () =>
      DynamoDBDocumentClient.from(new DynamoDBClient(config), {
        marshallOptions: { removeUndefinedValues: true },
      }),
    eventBridge: () => new EventBridgeClient(config),
    sfn: () => new SFNClient(config),
  };
}

/**
 * Starts `moto_server -H 127.0.0.1 -p <free port>` (see sandbox/motoServer.ts) and resolves once it
 * answers HTTP, with SDK v3 clients bound to it.
 * @throws {Error} naming the command when moto_server is not installed or never answers
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const server = await startMotoServer(options);
  return { endpoint: server.endpoint, clients: motoClients(server.endpoint), stop: () => server.stop() };
}

/**
 * Calls an AWS JSON-protocol action on moto without a generated client (e.g. SQS, whose client
 * is not a dependency of this project). moto checks no signature, so none is sent.
 * @example
 * const { QueueUrl } = await awsJson(moto.endpoint, 'sqs', 'AmazonSQS.CreateQueue', { QueueName: 'q' });
 */
export async function awsJson<T = Record<string, unknown>>(
  endpoint: string,
  service: string,
  target: string,
  body: Record<string, unknown>,
  contentType = 'application/x-amz-json-1.0',
): Promise<T> {
  // moto picks the service from the credential scope of the Authorization header; the
  // signature itself is never checked.
  const authorization =
    `AWS4-HMAC-SHA256 Credential=${MOTO_CREDENTIALS.accessKeyId}/20260101/${MOTO_REGION}/${service}/aws4_request, ` +
    'SignedHeaders=host, Signature=0';
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-amz-target': target, authorization },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${target} failed with HTTP ${response.status}: ${text.slice(0, 500)}`);
  return (text === '' ? {} : JSON.parse(text)) as T;
}

interface SqsMessage {
  readonly Body: string;
  readonly ReceiptHandle: string;
}

/**
 * Every message now in the SQS queue, deleted as read, bodies parsed (and the raw bodies appended
 * to `observed`, for leak scans). What an EventBridge rule delivered to a queue target.
 */
export async function drainQueue(
  endpoint: string,
  queueUrl: string,
  observed: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  const bodies: Record<string, unknown>[] = [];
  for (;;) {
    const { Messages = [] } = await awsJson<{ Messages?: SqsMessage[] }>(
      endpoint,
      'sqs',
      'AmazonSQS.ReceiveMessage',
      { QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 },
    );
    if (Messages.length === 0) return bodies;
    for (const message of Messages) {
      observed.push(message.Body);
      bodies.push(JSON.parse(message.Body) as Record<string, unknown>);
      await awsJson(endpoint, 'sqs', 'AmazonSQS.DeleteMessage', {
        QueueUrl: queueUrl,
        ReceiptHandle: message.ReceiptHandle,
      });
    }
  }
}
