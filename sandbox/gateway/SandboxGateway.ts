import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { LocalExecutor, LocalLambdaHandler } from '../localExecutor/index.js';
import { LocalSfnApiError } from '../localExecutor/index.js';
import { AwsJsonError, amzTarget, parseJsonBody, readBody, sendError, sendJson } from './awsJson.js';
import { type DeliveredEvent, EventRouter, type RoutedEntry, type UndeliveredEvent } from './EventRouter.js';
import { PutEventsAuthorizer } from './eventsAuth.js';
import type { AccessKey } from './iamQuery.js';
import { callStepFunctions } from './stepFunctionsApi.js';
import { templateManagedPolicies } from './templateGrants.js';

/** Options of {@link SandboxGateway.start}. */
export interface SandboxGatewayOptions {
  /** The moto server every call that is not Step Functions goes to. */
  readonly motoEndpoint: string;
  /** Serves the Step Functions API; the state machine the template's rules start. */
  readonly executor: LocalExecutor;
  /**
   * The template's other state machines (the fleet workflow), served by the same API: a call goes
   * to the executor its state machine or execution ARN names.
   * @default - none
   */
  readonly otherExecutors?: readonly LocalExecutor[];
  /** The synthesized template: its EventBridge rules route `PutEvents`. */
  readonly template: unknown;
  /** The name of the template's event bus in moto. */
  readonly eventBusName: string;
  /** Handlers of the rules' Lambda targets, keyed by a construct path tail (as the executor's `handlers`). */
  readonly lambdaTargets: Readonly<Record<string, LocalLambdaHandler>>;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Each routed delivery, as it happens. */
  readonly onDelivered?: (delivery: DeliveredEvent) => void;
  /** Each delivery that failed (what would reach a target's dead-letter queue on AWS). */
  readonly onUndelivered?: (failure: UndeliveredEvent) => void;
  /** Who may call `PutEvents`: every call is authenticated and authorized (see {@link PutEventsAuthorizer}). */
  readonly putEvents?: SandboxGatewayTrust;
}

/** What the gateway knows, besides moto's IAM, to authorize `PutEvents`. */
export interface SandboxGatewayTrust {
  /** Access keys whose secrets the gateway knows from the start (keys created through it are learnt). */
  readonly accessKeys?: readonly AccessKey[];
  /**
   * Principal tag key → construct id of a managed policy of the template: a user with the tag holds
   * that policy (the consumer tag and the consumer policy).
   */
  readonly taggedGrants?: Readonly<Record<string, string>>;
  /** @default '123456789012' (moto's account) */
  readonly accountId?: string;
}

/** One call through the gateway, as {@link SandboxGateway.observeCalls} reports it. */
export interface AwsCall {
  /** The SigV4 credential scope's service (`dynamodb`, `secretsmanager`, `events`, `states`, `s3`, …). */
  readonly service: string;
  /** The JSON protocol's target action, the query protocol's `Action`, or `<METHOD> <bucket>` for S3. */
  readonly action: string;
  /** Who signed it (the access key id), or `anonymous`. */
  readonly accessKeyId: string;
  readonly status: number;
  /** From the request's arrival to the answer's end, at the gateway. */
  readonly ms: number;
}

/** The account moto puts every resource in. */
export const MOTO_ACCOUNT_ID = '123456789012';

// Hop-by-hop headers are the proxy's own; everything else goes to moto and back as it is.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/**
 * The sandbox's one AWS endpoint, a loopback HTTP server: Step Functions calls are served by the local
 * executor; EventBridge `PutEvents` is authenticated (SigV4, moto's IAM users) and authorized by the
 * caller's policies, the template's managed policies standing for the moto policies of their name,
 * then goes to moto and is routed by the template's rules to their targets; every other call is
 * passed to moto unchanged (the secret keys of `CreateAccessKey` answers are learnt on the way).
 * Any SDK, boto3 or the AWS CLI can use it (`AWS_ENDPOINT_URL`).
 */
export class SandboxGateway {
  public readonly url: string;
  public readonly router: EventRouter;
  readonly #server: Server;
  readonly #moto: Pool;
  readonly #authorizer: PutEventsAuthorizer;
  readonly #callObservers: Set<(call: AwsCall) => void>;
  #stopped: Promise<void> | undefined;

  private constructor(
    url: string,
    server: Server,
    moto: Pool,
    router: EventRouter,
    authorizer: PutEventsAuthorizer,
    callObservers: Set<(call: AwsCall) => void>,
  ) {
    this.#callObservers = callObservers;
    this.url = url;
    this.#server = server;
    this.#moto = moto;
    this.router = router;
    this.#authorizer = authorizer;
  }

  /**
   * Calls `listener` with every call answered from now on (what a benchmark counts); returns the
   * function that stops it.
   */
  public observeCalls(listener: (call: AwsCall) => void): () => void {
    this.#callObservers.add(listener);
    return () => this.#callObservers.delete(listener);
  }

  /** Makes a key the gateway did not see created verifiable (its holder can then `PutEvents`). */
  public rememberAccessKey(key: AccessKey): void {
    this.#authorizer.rememberAccessKey(key);
  }

  /** Creates the template's routes in moto and listens. Rejects (closing what it opened) on any failure. */
  public static async start(options: SandboxGatewayOptions): Promise<SandboxGateway> {
    const region = options.region ?? 'us-east-1';
    const moto = new Pool(options.motoEndpoint, { connections: 32, pipelining: 1 });
    let server: Server | undefined;
    try {
      const router = await EventRouter.create({
        moto: { endpoint: options.motoEndpoint, region, dispatcher: moto },
        executor: options.executor,
        template: options.template,
        eventBusName: options.eventBusName,
        lambdaTargets: options.lambdaTargets,
        ...(options.onDelivered === undefined ? {} : { onDelivered: options.onDelivered }),
        ...(options.onUndelivered === undefined ? {} : { onUndelivered: options.onUndelivered }),
      });
      const accountId = options.putEvents?.accountId ?? MOTO_ACCOUNT_ID;
      const authorizer = new PutEventsAuthorizer({
        moto: { endpoint: options.motoEndpoint, region, dispatcher: moto },
        accountId,
        namedPolicies: templateManagedPolicies(options.template, {
          region,
          accountId,
          eventBusName: options.eventBusName,
          stateMachineArn: options.executor.stateMachineArn,
        }),
        ...(options.putEvents?.taggedGrants === undefined
          ? {}
          : { taggedGrants: options.putEvents.taggedGrants }),
        ...(options.putEvents?.accessKeys === undefined ? {} : { accessKeys: options.putEvents.accessKeys }),
      });
      const createdAt = new Date();
      const executors = [options.executor, ...(options.otherExecutors ?? [])];
      const callObservers = new Set<(call: AwsCall) => void>();
      const listening = createServer((request, response) => {
        if (callObservers.size > 0) observeCall(request, response, callObservers);
        handle(request, response, { executors, moto, router, createdAt, authorizer }).catch((error) => {
          if (!response.headersSent) {
            sendError(
              response,
              'application/x-amz-json-1.0',
              new AwsJsonError(
                'InternalFailure',
                error instanceof Error ? error.message : 'gateway failure',
                500,
              ),
            );
          } else {
            response.destroy();
          }
        });
      });
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
      });
      const address = listening.address() as AddressInfo;
      return new SandboxGateway(
        `http://${address.address}:${address.port}`,
        listening,
        moto,
        router,
        authorizer,
        callObservers,
      );
    } catch (error) {
      server?.close();
      await moto.close();
      throw error;
    }
  }

  /** Resolves when every routed delivery has finished (executions started, Lambda targets returned). */
  public idle(): Promise<void> {
    return this.router.idle();
  }

  /** Stops listening and closes its connections to moto. Idempotent. */
  public stop(): Promise<void> {
    this.#stopped ??= (async () => {
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
      await this.router.idle().catch(() => undefined);
      await this.#moto.close();
    })();
    return this.#stopped;
  }
}

interface GatewayParts {
  readonly executors: readonly LocalExecutor[];
  readonly moto: Pool;
  readonly router: EventRouter;
  readonly createdAt: Date;
  readonly authorizer: PutEventsAuthorizer;
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  parts: GatewayParts,
): Promise<void> {
  const target = amzTarget(request);
  const body = await readBody(request);
  if (target?.service === 'AWSStepFunctions') {
    const contentType = 'application/x-amz-json-1.0';
    try {
      const answer = callStepFunctions(parts.executors, target.action, parseJsonBody(body), parts.createdAt);
      sendJson(response, contentType, answer);
    } catch (error) {
      if (error instanceof AwsJsonError) return sendError(response, contentType, error);
      if (error instanceof LocalSfnApiError) {
        return sendError(
          response,
          contentType,
          new AwsJsonError(error.code, error.message, error.statusCode),
        );
      }
      throw error;
    }
    return;
  }
  const putEvents = target?.service === 'AWSEvents' && target.action === 'PutEvents';
  if (putEvents) {
    try {
      await parts.authorizer.authorize(request, body, parseJsonBody(body));
    } catch (error) {
      if (error instanceof AwsJsonError) return sendError(response, PutEventsAuthorizer.contentType, error);
      throw error;
    }
  }
  const forwarded = await forward(request, body, parts.moto);
  if (target === undefined && forwarded.statusCode === 200 && forwarded.body.length < 16_384) {
    // An IAM CreateAccessKey through the gateway: the only time anyone sees the secret key.
    parts.authorizer.learnFromIamAnswer(forwarded.body.toString('utf8'));
  }
  // An IAM change through the gateway applies to the next PutEvents at once.
  if (target === undefined && isIamWrite(body)) parts.authorizer.forgetIdentities();
  if (putEvents && forwarded.statusCode === 200) {
    // moto has delivered the entries to the route queues; dispatch before answering so a caller that
    // sees the answer can rely on its events having been routed (the targets themselves run on).
    await parts.router.drain(routedEntries(body));
  }
  response.writeHead(forwarded.statusCode, forwarded.headers);
  response.end(forwarded.body);
}

/** A query-protocol call whose `Action` is not a read (`Get…`, `List…`): it may change an identity. */
function isIamWrite(body: Buffer): boolean {
  const action = new URLSearchParams(body.toString('utf8')).get('Action');
  return action !== null && !/^(Get|List)/.test(action);
}

/** The source and detail type of each entry of a `PutEvents` body (what the router filters rules by). */
function routedEntries(body: Buffer): RoutedEntry[] | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {
      Entries?: { Source?: unknown; DetailType?: unknown }[];
    };
    if (!Array.isArray(parsed.Entries)) return undefined;
    return parsed.Entries.map((entry) => ({
      source: typeof entry.Source === 'string' ? entry.Source : undefined,
      detailType: typeof entry.DetailType === 'string' ? entry.DetailType : undefined,
    }));
  } catch {
    // Drain every queue: moto accepted something this code cannot read.
    return undefined;
  }
}

/** Reports `request` to the observers once its answer has been sent. */
function observeCall(
  request: IncomingMessage,
  response: ServerResponse,
  observers: ReadonlySet<(call: AwsCall) => void>,
): void {
  const started = performance.now();
  const authorization = String(request.headers.authorization ?? '');
  const scope = /Credential=([^/,\s]+)\/[^/]+\/[^/]+\/([^/]+)\//.exec(authorization);
  const target = amzTarget(request);
  const service = scope?.[2] ?? 'unknown';
  let action = target?.action ?? '';
  if (action === '') {
    const url = new URL(request.url ?? '/', 'http://gateway');
    action =
      url.searchParams.get('Action') ??
      `${request.method ?? 'GET'} ${url.pathname.split('/')[1] ?? ''}${url.search === '' ? '' : url.search.slice(0, 40)}`;
  }
  response.once('finish', () => {
    const call: AwsCall = {
      service,
      action,
      accessKeyId: scope?.[1] ?? 'anonymous',
      status: response.statusCode,
      ms: performance.now() - started,
    };
    for (const observer of observers) observer(call);
  });
}

async function forward(
  request: IncomingMessage,
  body: Buffer,
  moto: Pool,
): Promise<{ statusCode: number; headers: Record<string, string | string[]>; body: Buffer }> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  const answer = await moto.request({
    path: request.url ?? '/',
    method: (request.method ?? 'GET') as 'GET',
    headers,
    body: body.length === 0 ? null : body,
  });
  const answerBody = Buffer.from(await answer.body.arrayBuffer());
  const answerHeaders: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) answerHeaders[name] = value;
  }
  answerHeaders['content-length'] = String(answerBody.length);
  return { statusCode: answer.statusCode, headers: answerHeaders, body: answerBody };
}
