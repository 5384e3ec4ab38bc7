import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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
export const MOTO_REGION = 'us-east-1';
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

/** Common constructor options of an SDK v3 client pointed at `endpoint`. */
export function motoClientConfig(endpoint: string) {
  return {
    endpoint,
    region: MOTO_REGION,
    credentials: MOTO_CREDENTIALS,
    // A local server: fail fast instead of backing off on a mistake.
    maxAttempts: 2,
  } as const;
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
 * Starts `moto_server -H 127.0.0.1 -p <free port>` and resolves once it answers HTTP.
 * @throws {Error} naming the command when moto_server is not installed or never answers
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const command = options.command ?? 'moto_server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;

  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Keep the tail of stderr for a useful message if the server never comes up.
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-2000);
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('exit', (code) => resolve({ code }));
  });

  const stop = once(() => kill(child, exited));

  const deadline = Date.now() + readyTimeoutMs;
  let ready = false;
  while (!ready) {
    const early = await Promise.race([exited, sleep(100).then(() => null)]);
    if (early !== null) {
      const { code, error } = early;
      if (error !== undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          `${command} was not found on PATH: install moto with its server extra ` +
            `(pip install 'moto[server]') to run the AWS integration tests`,
        );
      }
      throw new Error(
        `${command} exited before answering (exit code ${code ?? 'none'}${error ? `, ${error.message}` : ''}): ${stderrTail}`,
      );
    }
    ready = await answers(endpoint);
    if (!ready && Date.now() > deadline) {
      await stop();
      throw new Error(`${command} did not answer on ${endpoint} within ${readyTimeoutMs} ms: ${stderrTail}`);
    }
  }

  return { endpoint, clients: motoClients(endpoint), stop };
}

/** A port that was free a moment ago: bind port 0, read what the OS chose, release it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    // moto's dashboard answers any GET; any HTTP answer at all means the server is up.
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

async function kill(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => {
    running ??= fn();
    return running;
  };
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
