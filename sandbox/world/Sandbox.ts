import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StytchClient } from '#adapters/stytch/index.js';
import { RESOURCES } from '#cli/resources.js';
import type { StepLogger } from '#core/deps.js';
import { CONSUMER_PRINCIPAL_TAG, type RotatorEvent } from '#core/events.js';
import { rotationScheduleName } from '#core/registry.js';
import { Secret } from '#core/secret.js';
import type {
  AccessKey,
  AwsCall,
  DeliveredEvent,
  SandboxGateway,
  UndeliveredEvent,
} from '../gateway/index.js';
import type { GitHubEmulator } from '../github-emulator/index.js';
import type { LocalExecutor } from '../localExecutor/index.js';
import { StytchEmulator } from '../stytch-emulator/index.js';
import { awsClientConfig, WORLD_REGION } from './awsClientConfig.js';
import { DemoResourceServer } from './DemoResourceServer.js';
import { capturingLogger, worldCaptures } from './functionObservation.js';
import { bindFunctions, EVENT_RULE_TARGETS, STATE_MACHINE_TASKS } from './handlerBinding.js';
import { launchMoto } from './motoLauncher.js';
import {
  CONSUMER_POLICY,
  ensureConsumerUser,
  type PrincipalsTarget,
  policyArn,
  type SandboxPrincipals,
} from './principals.js';
import { enrolSandboxClients } from './sandboxClients.js';
import type { SandboxConfig } from './sandboxConfig.js';
import { createFleetBucket, createFleetExecutor, fleetS3Client } from './sandboxFleet.js';
import { SandboxFunctions, type SandboxMetric } from './sandboxFunctions.js';
import {
  announceExecutionEnds,
  createSandboxIam,
  type StopTasks,
  startSandboxGateway,
} from './sandboxGateway.js';
import { startSandboxGitHub } from './sandboxGitHub.js';
import {
  ensureRevocationsBucket,
  revocationPublisherTargets,
  sandboxRevocationsUrl,
} from './sandboxRevocations.js';
import {
  createSandboxSchedules,
  putSandboxStack,
  REGISTERED_SCHEDULES_GROUP,
  REGISTERED_SCHEDULES_ROLE_ARN,
  SANDBOX_STACK_NAME,
  sandboxStackOutputs,
} from './sandboxStack.js';
import { createWorldResources, type ExternalStytch, WORLD_RESOURCE_NAMES } from './worldResources.js';
import { createWorldExecutor, enrolledConfig, synthesizeTemplate } from './worldStack.js';

// The pieces other modules import from here since before the sandbox was split into them.
export { awsClientConfig } from './awsClientConfig.js';
export type { SandboxMetric } from './sandboxFunctions.js';
export { SANDBOX_STACK_NAME } from './sandboxStack.js';
export { createConnectedApp, type ExternalStytch } from './worldResources.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NAMES = WORLD_RESOURCE_NAMES;
/** The fingerprint key's secret (in a deployment, a generated name: stack output FingerprintKeySecretArn). */
export const FINGERPRINT_KEY_SECRET = NAMES.fingerprintKeySecretId;

/** Options of {@link Sandbox.start}. */
export interface SandboxOptions {
  /** The deployment config whose clients the sandbox registers (ids may be rewritten, see `clientIdMap`). */
  readonly config: SandboxConfig;
  /** Use this Stytch (an emulator or a real test project) instead of starting the emulator. */
  readonly stytch?: ExternalStytch;
  /** Use this moto server instead of starting one. */
  readonly awsEndpoint?: string;
  /** Suffix for M2M client ids, so runs against a long-lived Stytch project do not collide. */
  readonly clientIdSuffix?: string;
  /** Scales Wait states and retry intervals of the state machine (1 = real time). */
  readonly timeScale?: number;
  /** Progress lines (what the sandbox is doing). */
  readonly say: (line: string) => void;
  /** Every event the rotator publishes, as it is published. */
  readonly onRotatorEvent?: (event: RotatorEvent) => void;
  /**
   * Aborting it while the sandbox starts stops at once what was started (moto included, even before
   * it answers) and rejects with the signal's reason; a part that finishes starting afterwards is
   * stopped as soon as it does. After `start` resolved, stop it with {@link Sandbox.stop}.
   */
  readonly signal?: AbortSignal;
}

/**
 * The credentials of the sandbox's principals (IAM users in moto): the operator and every consumer
 * of the sandbox's clients. What `npm start -- --keep --json` prints as `endpoints.credentials`.
 */
export interface SandboxCredentials {
  readonly operator: AccessKey;
  readonly consumers: Readonly<Record<string, AccessKey>>;
}

/**
 * The whole system on one machine: an AWS emulator (moto) behind the sandbox gateway (the one AWS
 * endpoint, which serves Step Functions from the local executor and routes EventBridge by the
 * template's own rules), the Stytch emulator, and the state machine `cdk synth` produces with
 * each Lambda task bound to the deployed handler code. Everything the handlers do goes through
 * the same SDK clients as in Lambda, pointed at the gateway (`AWS_ENDPOINT_URL`).
 */
export class Sandbox {
  /** The sandbox gateway's URL: the one AWS endpoint. */
  public readonly awsEndpoint: string;
  /**
   * The token revocation document a resource server polls (a signed GET, path-style on the
   * gateway; moto checks no signature): docs/token-revocation.md.
   */
  public readonly tokenRevocationsUrl: string;
  /**
   * The demo resource server: `GET <url>/whoami` with a bearer token, checked by the verifier
   * against the emulator's JWKS and this sandbox's revocation document (`endpoints.resourceServer`).
   */
  public readonly resourceServer: DemoResourceServer;
  public readonly motoEndpoint: string;
  public readonly stytch: ExternalStytch;
  /** The emulator, when the sandbox started it (fault injection is available then). */
  public readonly emulator: StytchEmulator | undefined;
  /** Our Stytch client on the sandbox's Stytch (project credentials); closed by {@link stop}. */
  public readonly stytchClient: StytchClient;
  public readonly executor: LocalExecutor;
  /** The fleet workflow (`rotator rotate --all | --selector`), its items run on {@link executor}. */
  public readonly fleetExecutor: LocalExecutor;
  public readonly template: unknown;
  public readonly config: SandboxConfig;
  /** Config client id → registered client id. */
  public readonly clientIdMap: ReadonlyMap<string, string>;
  /** Every secret value the run created or handled: what the leak scan looks for. */
  public readonly secrets: Secret[];
  /** Log lines of the functions (JSON), for the leak scan and the timeline. */
  public readonly functionLogs: string[];
  public readonly events: RotatorEvent[];
  /** The GitHub API emulator the webhook fetches alerts from (`addAlert` makes one). */
  public readonly github: GitHubEmulator;
  /** The webhook receiver's URL and the shared secret GitHub signs deliveries with. */
  public readonly githubWebhook: { readonly url: string; readonly secret: Secret };
  /** The metrics the functions emitted (EMF in a Lambda), in order. */
  public readonly metrics: SandboxMetric[];
  public readonly aws: {
    readonly secretsManager: SecretsManagerClient;
    readonly sfn: SFNClient;
    readonly eventBridge: EventBridgeClient;
    readonly dynamo: DynamoDBClient;
  };
  public readonly tableName = NAMES.tableName;
  /** The CloudFormation stack (in moto) whose outputs name the sandbox's resources (`rotator --stack`). */
  public readonly stackName = SANDBOX_STACK_NAME;
  /** The Stytch project credentials secret (ROTATOR_STYTCH_CREDENTIALS_SECRET_ID for `rotator register`). */
  public readonly stytchCredentialsSecretId = NAMES.credentialsSecretId;
  /** The schedule group `rotator register --schedule` creates schedules in. */
  public readonly registeredSchedulesGroup = REGISTERED_SCHEDULES_GROUP;
  /** The role those schedules would start rotations with (moto does not check it). */
  public readonly registeredSchedulesRoleArn = REGISTERED_SCHEDULES_ROLE_ARN;
  /** The secret holding the fingerprint key (ROTATOR_FINGERPRINT_KEY_SECRET_ID for `rotator leak report`). */
  public readonly fingerprintKeySecretId = FINGERPRINT_KEY_SECRET;
  public readonly eventBusName = NAMES.eventBusName;
  /** Every event the gateway routed to a target, in order. */
  public readonly gatewayDeliveries: readonly DeliveredEvent[];
  /** Every routed event that could not be delivered (a DLQ on AWS). */
  public readonly gatewayFailures: readonly UndeliveredEvent[];
  readonly #gateway: SandboxGateway;
  readonly #principals: SandboxPrincipals;
  readonly #iam: PrincipalsTarget;
  readonly #consumers: Map<string, AccessKey>;
  /** Execution status changes on their way to the bus (their rule's target runs after). */
  readonly #executionEnds: Set<Promise<unknown>>;
  readonly #stopTasks: (() => Promise<void>)[];
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    gateway: SandboxGateway;
    motoEndpoint: string;
    stytch: ExternalStytch;
    emulator: StytchEmulator | undefined;
    stytchClient: StytchClient;
    executor: LocalExecutor;
    fleetExecutor: LocalExecutor;
    template: unknown;
    config: SandboxConfig;
    clientIdMap: Map<string, string>;
    secrets: Secret[];
    functionLogs: string[];
    events: RotatorEvent[];
    metrics: SandboxMetric[];
    github: GitHubEmulator;
    githubWebhook: { readonly url: string; readonly secret: Secret };
    resourceServer: DemoResourceServer;
    stopTasks: (() => Promise<void>)[];
    executionEnds: Set<Promise<unknown>>;
    principals: SandboxPrincipals;
    iam: PrincipalsTarget;
  }) {
    this.awsEndpoint = parts.gateway.url;
    this.tokenRevocationsUrl = sandboxRevocationsUrl(parts.gateway.url);
    this.resourceServer = parts.resourceServer;
    this.motoEndpoint = parts.motoEndpoint;
    this.stytch = parts.stytch;
    this.emulator = parts.emulator;
    this.stytchClient = parts.stytchClient;
    this.executor = parts.executor;
    this.fleetExecutor = parts.fleetExecutor;
    this.template = parts.template;
    this.config = parts.config;
    this.clientIdMap = parts.clientIdMap;
    this.secrets = parts.secrets;
    this.functionLogs = parts.functionLogs;
    this.events = parts.events;
    this.metrics = parts.metrics;
    this.github = parts.github;
    this.githubWebhook = parts.githubWebhook;
    this.#stopTasks = parts.stopTasks;
    this.#gateway = parts.gateway;
    this.#executionEnds = parts.executionEnds;
    this.#principals = parts.principals;
    this.#iam = parts.iam;
    this.#consumers = new Map(parts.principals.consumers);
    this.gatewayDeliveries = parts.gateway.router.delivered;
    this.gatewayFailures = parts.gateway.router.undelivered;
    // The sandbox's own clients act as the operator (the `export` lines `--keep` prints).
    const clientConfig = awsClientConfig(parts.gateway.url, parts.principals.operator);
    this.aws = {
      secretsManager: new SecretsManagerClient(clientConfig),
      sfn: new SFNClient(clientConfig),
      eventBridge: new EventBridgeClient(clientConfig),
      dynamo: new DynamoDBClient(clientConfig),
    };
  }

  /** Starts every part; on any failure, stops what it had started before rethrowing. */
  public static async start(options: SandboxOptions): Promise<Sandbox> {
    const stopTasks = new ClosableStopTasks();
    const { signal } = options;
    signal?.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    // Never left unhandled when start finishes first.
    aborted.catch(() => undefined);
    try {
      return await Promise.race([Sandbox.#start(options, stopTasks), aborted]);
    } catch (error) {
      // A part still starting (a signal does not wait for it) is stopped when it registers.
      await stopTasks.close();
      throw error;
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
  }

  static async #start(options: SandboxOptions, stopTasks: StopTasks): Promise<Sandbox> {
    const motoEndpoint = await motoFor(options, stopTasks);
    const { stytch, emulator } = await stytchFor(options, stopTasks);
    const deployed = await deploy(options, motoEndpoint, stytch, stopTasks);
    const { functions, executor, fleetExecutor, fleetEvents, observed, logger } = startFunctions(
      options,
      deployed,
      stopTasks,
    );
    let resourceServer: DemoResourceServer | undefined;
    const access = await openGateway(options, deployed, functions, [executor, fleetExecutor], stopTasks, {
      logger,
      // The publisher's events join the world's list, as the step functions' do.
      onEvent: (event) => {
        observed.events.push(event);
        // The demo API's bus subscription: a revocation applies before its next poll.
        resourceServer?.onRotatorEvent(event);
        options.onRotatorEvent?.(event);
      },
    });
    const { gateway, principals } = access;
    fleetEvents.client = new EventBridgeClient(awsClientConfig(gateway.url, principals.operator));
    resourceServer = await DemoResourceServer.start({
      projectId: stytch.projectId,
      stytchUrl: stytch.url,
      revocationsUrl: sandboxRevocationsUrl(gateway.url),
      s3: { endpoint: gateway.url, accessKey: principals.resourceServer },
    });
    const startedResourceServer = resourceServer;
    stopTasks.push(() => startedResourceServer.stop());
    options.say(`Demo resource server (the verifier on every request) on ${resourceServer.url}/whoami`);
    const { github, webhook } = await startSandboxGitHub(
      {
        secretsManager: deployed.secretsManager,
        gatewayUrl: gateway.url,
        accessKey: principals.githubWebhook,
        logger,
        secrets: deployed.secrets,
      },
      stopTasks,
    );
    options.say(`GitHub secret-scanning webhook on ${webhook.url} (GitHub API emulator on ${github.url})`);

    const { direct, template, config } = deployed;
    await createSandboxSchedules(direct, config.clients, executor.stateMachineArn);
    await putSandboxStack(
      direct,
      sandboxStackOutputs(
        executor.stateMachineArn,
        config.secretPrefix,
        stytch.url,
        fleetExecutor.stateMachineArn,
      ),
    );
    return new Sandbox({
      ...access,
      ...observed,
      motoEndpoint,
      stytch,
      emulator,
      stytchClient: deployed.stytchClient,
      executor,
      fleetExecutor,
      template,
      config,
      clientIdMap: deployed.clientIdMap,
      secrets: deployed.secrets,
      github,
      githubWebhook: webhook,
      resourceServer,
      stopTasks,
    });
  }

  /**
   * The operator's and every consumer's access keys (IAM users in moto; the gateway verifies their
   * signatures). A consumer made with {@link consumerCredentials} is listed too.
   */
  public get credentials(): SandboxCredentials {
    return {
      operator: this.#principals.operator,
      consumers: Object.fromEntries(this.#consumers),
    };
  }

  /**
   * The access key of consumer `name`: an IAM user tagged `rotator-consumer=<name>` holding the
   * consumer policy. Consumers of the sandbox's clients exist from the start; any other name is
   * created now (what a new service's tagged role is in AWS).
   */
  public async consumerCredentials(name: string): Promise<AccessKey> {
    const known = this.#consumers.get(name);
    if (known !== undefined) return known;
    const key = await ensureConsumerUser(this.#iam, name, policyArn(this.#iam, CONSUMER_POLICY));
    this.#gateway.rememberAccessKey(key);
    this.secrets.push(new Secret(key.secretAccessKey));
    this.#consumers.set(name, key);
    return key;
  }

  /**
   * Calls `listener` with every AWS call through the gateway from now on, with who signed it
   * (see {@link functionsAccessKeyId}); returns the function that stops it.
   */
  public observeAwsCalls(listener: (call: AwsCall) => void): () => void {
    return this.#gateway.observeCalls(listener);
  }

  /** The access key id the rotator's functions sign their AWS calls with (as their role would). */
  public get functionsAccessKeyId(): string {
    return this.#principals.functions.accessKeyId;
  }

  /** The functions' whole access key (a benchmark signs its reference calls as they do). */
  public get functionsAccessKey(): AccessKey {
    return this.#principals.functions;
  }

  /**
   * The environment the rotator CLI (and the AWS CLI) needs to work on this sandbox: the standard
   * SDK settings pointed at the gateway with the operator's access key, and every resource
   * variable, as `--keep` prints them.
   */
  public cliEnv(): Record<string, string> {
    const outputs = this.stackOutputs();
    const resources = Object.values(RESOURCES).flatMap((spec) => {
      const value = outputs[spec.output ?? ''];
      return value === undefined ? [] : [[spec.env, value] as const];
    });
    return {
      AWS_ENDPOINT_URL: this.awsEndpoint,
      AWS_REGION: WORLD_REGION,
      AWS_ACCESS_KEY_ID: this.#principals.operator.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.#principals.operator.secretAccessKey,
      ...Object.fromEntries(resources),
    };
  }

  /**
   * The outputs a deployed stack has (lib/RotatorStack.ts), for this sandbox's resources, and the
   * sandbox's own StytchBaseUrl.
   */
  public stackOutputs(): Record<string, string> {
    return sandboxStackOutputs(
      this.executor.stateMachineArn,
      this.config.secretPrefix,
      this.stytch.url,
      this.fleetExecutor.stateMachineArn,
    );
  }

  /**
   * The client's rotation schedule as EventBridge Scheduler holds it (moto): what it starts the
   * workflow with. A demo or a test fires it by starting an execution with `input`, as Scheduler would.
   */
  public async rotationSchedule(
    clientId: string,
  ): Promise<{ readonly expression: string; readonly timeZone: string; readonly input: string } | undefined> {
    const scheduler = new SchedulerClient(awsClientConfig(this.motoEndpoint));
    try {
      const schedule = await scheduler.send(
        new GetScheduleCommand({
          Name: rotationScheduleName(clientId),
          GroupName: REGISTERED_SCHEDULES_GROUP,
        }),
      );
      return {
        expression: schedule.ScheduleExpression ?? '',
        timeZone: schedule.ScheduleExpressionTimezone ?? 'UTC',
        input: schedule.Target?.Input ?? '',
      };
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    } finally {
      scheduler.destroy();
    }
  }

  /** Resolves when every event routed so far has been handled by its target. */
  public async settle(): Promise<void> {
    while (this.#executionEnds.size > 0) await Promise.allSettled([...this.#executionEnds]);
    await this.#gateway.idle();
  }

  /**
   * Everything the run wrote outside the secret store, as text, for leak scans: function logs,
   * every execution's description and history (state inputs and outputs), every event, every
   * ledger item, the routed deliveries, the Stytch emulator's request log and the template.
   */
  public async captured(): Promise<{ source: string; text: string }[]> {
    return worldCaptures(
      {
        functionLogs: this.functionLogs,
        events: this.events,
        template: this.template,
        executor: this.executor,
        documents: DynamoDBDocumentClient.from(this.aws.dynamo),
        tableName: NAMES.tableName,
        emulator: this.emulator,
      },
      [
        {
          source: 'gateway deliveries',
          text: JSON.stringify([this.gatewayDeliveries, this.gatewayFailures]),
        },
      ],
    );
  }

  /** Stops every process and server the sandbox started (not the ones it was given). */
  public stop(): Promise<void> {
    // Idempotent and safe to call twice at once (a signal handler and a finally block).
    this.#stopping ??= (async () => {
      const tasks = this.#stopTasks.splice(0).reverse();
      for (const stop of tasks) await stop().catch(() => undefined);
    })();
    return this.#stopping;
  }
}

/** What {@link deploy} made: the stack as `cdk deploy` would leave it, in moto. */
interface Deployed {
  /** Settings of SDK clients straight at moto (not through the gateway). */
  readonly direct: ReturnType<typeof awsClientConfig>;
  readonly secretsManager: SecretsManagerClient;
  readonly stytch: ExternalStytch;
  readonly stytchClient: StytchClient;
  readonly clientIdMap: Map<string, string>;
  /** The config with the registered client ids and the sandbox's credentials secret. */
  readonly config: SandboxConfig;
  readonly template: unknown;
  /** Every secret value created so far (the leak scan's list); the parts started later add theirs. */
  readonly secrets: Secret[];
}

/**
 * Creates the resources `cdk deploy` would, straight in moto (before the gateway routes anything),
 * registers and enrols the config's clients, and synthesizes the stack for them.
 */
async function deploy(
  options: SandboxOptions,
  motoEndpoint: string,
  stytch: ExternalStytch,
  stopTasks: StopTasks,
): Promise<Deployed> {
  const secrets: Secret[] = [new Secret(stytch.projectSecret)];
  const direct = awsClientConfig(motoEndpoint);
  const secretsManager = new SecretsManagerClient(direct);
  const dynamo = new DynamoDBClient(direct);
  const aws = { dynamo, eventBridge: new EventBridgeClient(direct), secretsManager };
  const { credentialsArn, fingerprintKey } = await createWorldResources(aws, NAMES, stytch);
  await ensureRevocationsBucket(direct);
  await createFleetBucket(direct);
  secrets.push(fingerprintKey);
  const stytchClient = new StytchClient({
    projectId: stytch.projectId,
    secret: stytch.projectSecret,
    baseUrl: stytch.url,
  });
  stopTasks.push(() => stytchClient.close());
  const clientIdMap = await enrolSandboxClients(options.config, {
    stytch,
    stytchClient,
    secretsManager,
    documents: DynamoDBDocumentClient.from(dynamo),
    tableName: NAMES.tableName,
    fingerprintKey,
    ...(options.clientIdSuffix === undefined ? {} : { clientIdSuffix: options.clientIdSuffix }),
    secrets,
    say: options.say,
  });
  const config = enrolledConfig(options.config, credentialsArn, clientIdMap);
  const template = synthesizeTemplate(config);
  return { direct, secretsManager, stytch, stytchClient, clientIdMap, config, template, secrets };
}

/** The state machine in the local executor, its tasks bound to the sandbox's step functions. */
function startFunctions(options: SandboxOptions, deployed: Deployed, stopTasks: StopTasks) {
  const observed = {
    functionLogs: [] as string[],
    events: [] as RotatorEvent[],
    metrics: [] as SandboxMetric[],
  };
  const logger = capturingLogger(observed.functionLogs);
  const functions = new SandboxFunctions({
    config: deployed.config,
    stytchUrl: deployed.stytch.url,
    logger,
    observations: {
      secrets: deployed.secrets,
      events: observed.events,
      ...(options.onRotatorEvent === undefined ? {} : { onEvent: options.onRotatorEvent }),
    },
    metrics: observed.metrics,
  });
  const handlers = bindFunctions(STATE_MACHINE_TASKS, functions.bind);
  const timeScale = options.timeScale ?? 0.01;
  const executor = createWorldExecutor(deployed.template, handlers, timeScale);
  const fleetS3 = fleetS3Client(deployed.direct);
  // The fleet workflow's leak reports go through the gateway as the operator who started the run
  // (its role's grant), once the gateway listens.
  const fleetEvents: { client?: EventBridgeClient } = {};
  const fleetExecutor = createFleetExecutor(
    deployed.template,
    executor,
    fleetS3,
    timeScale,
    async (entries) => {
      if (fleetEvents.client === undefined)
        throw new Error('the fleet workflow published before the gateway listened');
      const sent = await fleetEvents.client.send(
        new PutEventsCommand({
          Entries: entries.map((entry) => ({
            Source: entry.Source,
            DetailType: entry.DetailType,
            Detail: JSON.stringify(entry.Detail),
            EventBusName: NAMES.eventBusName,
          })),
        }),
      );
      if ((sent.FailedEntryCount ?? 0) > 0)
        throw new Error(`PutEvents refused ${sent.FailedEntryCount} entries`);
    },
  );
  // The fleet first: stopping it stops waiting on its rotations, which the executor then stops.
  stopTasks.push(async () => {
    await fleetExecutor.close();
    fleetS3.destroy();
  });
  stopTasks.push(async () => executor.close());
  stopTasks.push(async () => fleetEvents.client?.destroy());
  return { functions, executor, fleetExecutor, fleetEvents, observed, logger };
}

/**
 * Who may use the one AWS endpoint (IAM users in moto holding the template's policies) and the
 * gateway itself, routing to the rule targets; the functions run behind it from now on, and every
 * execution's end is announced on its bus.
 */
async function openGateway(
  options: SandboxOptions,
  deployed: Deployed,
  functions: SandboxFunctions,
  [executor, ...otherExecutors]: readonly [LocalExecutor, ...LocalExecutor[]],
  stopTasks: StopTasks,
  observed: { readonly logger: StepLogger; readonly onEvent: (event: RotatorEvent) => void },
) {
  const world = {
    template: deployed.template,
    eventBusName: NAMES.eventBusName,
    stateMachineArn: executor.stateMachineArn,
  };
  const expectedConsumers = deployed.config.clients.flatMap((client) => client.policy.expectedConsumers);
  const motoEndpoint = deployed.direct.endpoint;
  const { iam, principals } = await createSandboxIam(
    motoEndpoint,
    world,
    expectedConsumers,
    deployed.secrets,
    stopTasks,
  );
  options.say(
    `IAM users in moto: the operator (${principals.operator.accessKeyId}), ${principals.consumers.size} consumers ` +
      `tagged ${CONSUMER_PRINCIPAL_TAG}, the functions; the gateway checks every PutEvents against the template's policies`,
  );
  let placed: { awsEndpoint: string; accessKey: AccessKey } | undefined;
  const lambdaTargets = {
    ...bindFunctions(EVENT_RULE_TARGETS, functions.bind),
    ...revocationPublisherTargets(
      NAMES.eventBusName,
      observed.logger,
      () => {
        if (placed === undefined)
          throw new Error('the token revocation publisher was invoked before the gateway listened');
        return placed;
      },
      observed.onEvent,
    ),
  };
  const gateway = await startSandboxGateway(
    { ...world, motoEndpoint, executor, otherExecutors, lambdaTargets, principals },
    stopTasks,
  );
  placed = { awsEndpoint: gateway.url, accessKey: principals.functions };
  functions.place({
    awsEndpoint: gateway.url,
    accessKey: principals.functions,
    stateMachineArn: executor.stateMachineArn,
  });
  const executionEnds = announceExecutionEnds(executor, gateway, principals, NAMES.eventBusName, stopTasks);
  options.say(`sandbox gateway (the one AWS endpoint) on ${gateway.url}`);
  return { gateway, principals, iam, executionEnds };
}

/** The moto the sandbox uses: `options.awsEndpoint`, or one it starts (and stops). */
async function motoFor(options: SandboxOptions, stopTasks: StopTasks): Promise<string> {
  if (options.awsEndpoint !== undefined) {
    options.say(`AWS emulator: using ${options.awsEndpoint}`);
    return options.awsEndpoint;
  }
  const moto = await launchMoto(REPO_ROOT, options.say, options.signal);
  stopTasks.push(() => moto.stop());
  options.say(`AWS emulator (moto_server) on ${moto.endpoint}`);
  return moto.endpoint;
}

/** The Stytch the sandbox uses: `options.stytch`, or an emulator it starts (and stops). */
async function stytchFor(
  options: SandboxOptions,
  stopTasks: StopTasks,
): Promise<{ stytch: ExternalStytch; emulator: StytchEmulator | undefined }> {
  if (options.stytch !== undefined) {
    options.say(`Stytch: using ${options.stytch.url} (project ${options.stytch.projectId})`);
    return { stytch: options.stytch, emulator: undefined };
  }
  const emulator = await StytchEmulator.start();
  stopTasks.push(() => emulator.stop());
  options.say(`Stytch emulator on ${emulator.url} (project ${emulator.projectId})`);
  return {
    stytch: { url: emulator.url, projectId: emulator.projectId, projectSecret: emulator.projectSecret },
    emulator,
  };
}

/**
 * The stop tasks of a starting sandbox. Once closed (the start failed or was aborted), every task
 * registered so far has run, and one registered later runs at once: a part that finishes starting
 * after a signal is stopped instead of being left running.
 */
class ClosableStopTasks extends Array<() => Promise<void>> {
  #closed = false;

  public override push(...tasks: (() => Promise<void>)[]): number {
    if (!this.#closed) return super.push(...tasks);
    for (const task of tasks) void task().catch(() => undefined);
    return this.length;
  }

  /** Runs the tasks registered so far, last first; later ones run as they are registered. */
  public async close(): Promise<void> {
    this.#closed = true;
    for (const stop of this.splice(0).reverse()) await stop().catch(() => undefined);
  }
}
