import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  AlreadyExistsException,
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  ConflictException,
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Pool } from 'undici';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { StytchClient } from '#adapters/stytch/index.js';
import { RESOURCES } from '#cli/resources.js';
import type { RotationMetricsPort, StepDeps } from '#core/deps.js';
import { CONSUMER_PRINCIPAL_TAG, type RotatorEvent } from '#core/events.js';
import { fingerprintOf } from '#core/fingerprint.js';
import { fingerprintEntry } from '#core/fingerprintedSecrets.js';
import { Secret } from '#core/secret.js';
import { createGitHubWebhookDeps, createGitHubWebhookHandler } from '#handlers/githubWebhook.js';
import { createStepDeps } from '#handlers/runtime/composition.js';
import { readRotatorEnv } from '#handlers/runtime/env.js';
import { lambdaHandler } from '#handlers/runtime/runStep.js';
import { readGitHubWebhookEnv } from '#handlers/runtime/webhookEnv.js';
import { STEP_BODIES, type StepName } from '#handlers/steps.js';
import { type DeploymentConfig, parseDeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import { RotatorStack } from '../../lib/RotatorStack.js';
import {
  type AccessKey,
  type DeliveredEvent,
  eventBusArn,
  MOTO_ACCOUNT_ID,
  SandboxGateway,
  templateManagedPolicies,
  type UndeliveredEvent,
} from '../gateway/index.js';
import { templateSchedules } from '../gateway/templateTriggers.js';
import { GitHubEmulator, WebhookListener } from '../github-emulator/index.js';
import { LocalExecutor } from '../localExecutor/index.js';
import type { MotoProcess } from '../motoServer.js';
import { StytchEmulator } from '../stytch-emulator/index.js';
import { ensureEventBus, ensureTable, putSecret } from './awsSetup.js';
import { launchMoto } from './motoLauncher.js';
import {
  CONSUMER_POLICY,
  createSandboxPrincipals,
  ensureConsumerUser,
  type PrincipalsTarget,
  policyArn,
  type SandboxPrincipals,
} from './principals.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REGION = 'us-east-1';
const TABLE = 'stytch-m2m-rotator-ledger';
const BUS = 'stytch-m2m-rotator';
const CREDENTIALS_SECRET = 'stytch/project-credentials';
/**
 * The stack outputs of a deployment that the sandbox has, by output key (lib/RotatorStack.ts), and
 * the Stytch base URL: a deployment talks to Stytch's own API (the client's default), the sandbox
 * to its emulator, so its stack says where (`rotator --stack … register` needs it).
 */
function sandboxStackOutputs(
  stateMachineArn: string,
  secretPrefix: string,
  stytchBaseUrl: string,
): Record<string, string> {
  return {
    StateMachineArn: stateMachineArn,
    LedgerTableName: TABLE,
    EventBusName: BUS,
    SecretPrefix: secretPrefix,
    FingerprintKeySecretArn: FINGERPRINT_KEY_SECRET,
    StytchCredentialsSecretArn: CREDENTIALS_SECRET,
    RegisteredSchedulesGroup: REGISTERED_SCHEDULES_GROUP,
    RegisteredSchedulesRoleArn: REGISTERED_SCHEDULES_ROLE_ARN,
    StytchBaseUrl: stytchBaseUrl,
  };
}

/** The stack the sandbox's outputs are in (moto), named like the deployed one. */
export const SANDBOX_STACK_NAME = 'StytchM2MRotator';
/** The schedule group and role `rotator register --schedule` uses (the stack outputs' stand-ins). */
const REGISTERED_SCHEDULES_GROUP = 'stytch-m2m-rotator-registered';
const REGISTERED_SCHEDULES_ROLE_ARN = `arn:aws:iam::123456789012:role/stytch-m2m-rotator-registered-schedules`;
const GITHUB_WEBHOOK_SECRET = 'stytch-m2m-rotator/github-webhook-secret';
const GITHUB_TOKEN_SECRET = 'stytch-m2m-rotator/github-token';
/** The fingerprint key's secret (in a deployment, a generated name: stack output FingerprintKeySecretArn). */
export const FINGERPRINT_KEY_SECRET = 'stytch-m2m-rotator/fingerprint-key';

/** A Stytch the sandbox uses instead of starting its own emulator. */
export interface ExternalStytch {
  readonly url: string;
  readonly projectId: string;
  readonly projectSecret: string;
}

/** Options of {@link Sandbox.start}. */
export interface SandboxOptions {
  /** The deployment config whose clients the sandbox registers (ids may be rewritten, see `clientIdMap`). */
  readonly config: DeploymentConfig;
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
}

/**
 * The credentials of the sandbox's principals (IAM users in moto): the operator and every consumer
 * of the sandbox's clients. What `npm start -- --keep --json` prints as `endpoints.credentials`.
 */
export interface SandboxCredentials {
  readonly operator: AccessKey;
  readonly consumers: Readonly<Record<string, AccessKey>>;
}

/** One metric a function emitted, as {@link RotationMetricsPort} was called. */
export type SandboxMetric =
  | ({ readonly name: 'rotationEnded' } & Parameters<RotationMetricsPort['rotationEnded']>[0])
  | ({ readonly name: 'firstConsumerReport' } & Parameters<RotationMetricsPort['firstConsumerReport']>[0]);

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
  public readonly motoEndpoint: string;
  public readonly stytch: ExternalStytch;
  /** The emulator, when the sandbox started it (fault injection is available then). */
  public readonly emulator: StytchEmulator | undefined;
  /** Our Stytch client on the sandbox's Stytch (project credentials); closed by {@link stop}. */
  public readonly stytchClient: StytchClient;
  public readonly executor: LocalExecutor;
  public readonly template: unknown;
  public readonly config: DeploymentConfig;
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
  public readonly tableName = TABLE;
  /** The CloudFormation stack (in moto) whose outputs name the sandbox's resources (`rotator --stack`). */
  public readonly stackName = SANDBOX_STACK_NAME;
  /** The Stytch project credentials secret (ROTATOR_STYTCH_CREDENTIALS_SECRET_ID for `rotator register`). */
  public readonly stytchCredentialsSecretId = CREDENTIALS_SECRET;
  /** The schedule group `rotator register --schedule` creates schedules in. */
  public readonly registeredSchedulesGroup = REGISTERED_SCHEDULES_GROUP;
  /** The role those schedules would start rotations with (moto does not check it). */
  public readonly registeredSchedulesRoleArn = REGISTERED_SCHEDULES_ROLE_ARN;
  /** The secret holding the fingerprint key (ROTATOR_FINGERPRINT_KEY_SECRET_ID for `rotator leak report`). */
  public readonly fingerprintKeySecretId = FINGERPRINT_KEY_SECRET;
  public readonly eventBusName = BUS;
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
    template: unknown;
    config: DeploymentConfig;
    clientIdMap: Map<string, string>;
    secrets: Secret[];
    functionLogs: string[];
    events: RotatorEvent[];
    metrics: SandboxMetric[];
    github: GitHubEmulator;
    githubWebhook: { readonly url: string; readonly secret: Secret };
    stopTasks: (() => Promise<void>)[];
    executionEnds: Set<Promise<unknown>>;
    principals: SandboxPrincipals;
    iam: PrincipalsTarget;
  }) {
    this.awsEndpoint = parts.gateway.url;
    this.motoEndpoint = parts.motoEndpoint;
    this.stytch = parts.stytch;
    this.emulator = parts.emulator;
    this.stytchClient = parts.stytchClient;
    this.executor = parts.executor;
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
    const stopTasks: (() => Promise<void>)[] = [];
    const stopAll = async (): Promise<void> => {
      for (const stop of stopTasks.reverse()) await stop().catch(() => undefined);
    };
    try {
      return await Sandbox.#start(options, stopTasks);
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  static async #start(options: SandboxOptions, stopTasks: (() => Promise<void>)[]): Promise<Sandbox> {
    const { say } = options;
    let moto: MotoProcess | undefined;
    let motoEndpoint = options.awsEndpoint;
    if (motoEndpoint === undefined) {
      moto = await launchMoto(REPO_ROOT, say);
      const started = moto;
      stopTasks.push(() => started.stop());
      motoEndpoint = started.endpoint;
      say(`AWS emulator (moto_server) on ${motoEndpoint}`);
    } else {
      say(`AWS emulator: using ${motoEndpoint}`);
    }

    let emulator: StytchEmulator | undefined;
    let stytch = options.stytch;
    if (stytch === undefined) {
      emulator = await StytchEmulator.start();
      const started = emulator;
      stopTasks.push(() => started.stop());
      stytch = { url: emulator.url, projectId: emulator.projectId, projectSecret: emulator.projectSecret };
      say(`Stytch emulator on ${emulator.url} (project ${emulator.projectId})`);
    } else {
      say(`Stytch: using ${stytch.url} (project ${stytch.projectId})`);
    }
    const secrets: Secret[] = [new Secret(stytch.projectSecret)];

    // Resources `cdk deploy` would create, straight in moto (before the gateway routes anything).
    const direct = awsClientConfig(motoEndpoint);
    const secretsManager = new SecretsManagerClient(direct);
    await ensureTable(new DynamoDBClient(direct), TABLE);
    await ensureEventBus(new EventBridgeClient(direct), BUS);
    const { arn: credentialsArn } = await putSecret(
      secretsManager,
      CREDENTIALS_SECRET,
      JSON.stringify({ project_id: stytch.projectId, secret: stytch.projectSecret }),
    );
    const fingerprintKey = randomBytes(32).toString('base64url');
    await putSecret(secretsManager, FINGERPRINT_KEY_SECRET, fingerprintKey);
    secrets.push(new Secret(fingerprintKey));

    // Register the config's clients at Stytch and enrol them in Secrets Manager.
    const stytchClient = new StytchClient({
      projectId: stytch.projectId,
      secret: stytch.projectSecret,
      baseUrl: stytch.url,
    });
    stopTasks.push(() => stytchClient.close());
    const tokenUrl = `${stytch.url}/v1/public/${stytch.projectId}/oauth2/token`;
    const clientIdMap = new Map<string, string>();
    const enrolmentLedger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(new DynamoDBClient(direct)),
      tableName: TABLE,
    });
    const enrolmentKey = new Secret(fingerprintKey);
    const enrolmentFingerprints = {
      fingerprint: async (secret: Secret | string) => fingerprintOf(enrolmentKey, secret),
    };
    for (const client of options.config.clients) {
      const registered =
        client.kind === 'connected_app'
          ? await createConnectedApp(stytch)
          : await stytchClient.m2m
              .create({
                clientId: `${client.clientId}${options.clientIdSuffix ?? ''}`,
                clientName: client.clientId,
                scopes: ['read:demo', 'write:demo'],
              })
              .then((created) => ({ clientId: created.client.clientId, clientSecret: created.clientSecret }));
      secrets.push(registered.clientSecret);
      clientIdMap.set(client.clientId, registered.clientId);
      const enrolled = await putSecret(
        secretsManager,
        `${options.config.secretPrefix}/${registered.clientId}`,
        JSON.stringify({
          project_id: stytch.projectId,
          client_id: registered.clientId,
          client_secret: registered.clientSecret.reveal(),
          token_url: tokenUrl,
        }),
      );
      // Enrolment indexes the secret's fingerprint, as `rotator register` does, so a leak report
      // finds the client from its first minute.
      await enrolmentLedger.putFingerprint(
        await fingerprintEntry(
          enrolmentFingerprints,
          { clientId: registered.clientId, kind: client.kind },
          registered.clientSecret,
          enrolled.versionId,
          'current',
          new Date(),
        ),
      );
      say(
        `registered ${client.kind} client ${registered.clientId}` +
          (registered.clientId === client.clientId ? '' : ` (config id ${client.clientId})`) +
          `, secret …${registered.clientSecret.lastFour}`,
      );
    }
    const config = parseDeploymentConfig({
      ...options.config,
      stytch: { projectCredentialsSecretArn: credentialsArn },
      clients: options.config.clients.map((client) => ({
        ...client,
        clientId: clientIdMap.get(client.clientId),
      })),
    });

    // The template `cdk synth` produces (path metadata as the CLI writes it; bundling is not needed:
    // the local executor runs the handler sources).
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
    const template = Template.fromStack(new RotatorStack(app, 'StytchM2MRotator', { config })).toJSON();

    const functionLogs: string[] = [];
    const events: RotatorEvent[] = [];
    const metrics: SandboxMetric[] = [];
    const logger = {
      info: (message: string, attributes: Record<string, unknown> = {}) =>
        functionLogs.push(JSON.stringify({ level: 'INFO', message, ...attributes })),
      warn: (message: string, attributes: Record<string, unknown> = {}) =>
        functionLogs.push(JSON.stringify({ level: 'WARN', message, ...attributes })),
    };

    let gatewayUrl = '';
    let principals: SandboxPrincipals | undefined;
    let deps: StepDeps | undefined;
    // Built on the first invocation, when the gateway is listening: exactly as in a Lambda
    // container, from the environment.
    const containerDeps = async (): Promise<StepDeps> => {
      if (deps === undefined) {
        const env = {
          ...process.env,
          AWS_ENDPOINT_URL: gatewayUrl,
          AWS_REGION: REGION,
          // The functions' own identity (their execution role in AWS).
          AWS_ACCESS_KEY_ID: principals?.functions.accessKeyId ?? '',
          AWS_SECRET_ACCESS_KEY: principals?.functions.secretAccessKey ?? '',
          ROTATOR_TABLE_NAME: TABLE,
          ROTATOR_EVENT_BUS_NAME: BUS,
          ROTATOR_SECRET_PREFIX: config.secretPrefix,
          ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: CREDENTIALS_SECRET,
          ROTATOR_FINGERPRINT_KEY_SECRET_ID: FINGERPRINT_KEY_SECRET,
          ROTATOR_STATE_MACHINE_ARN: executor.stateMachineArn,
          ROTATOR_STYTCH_BASE_URL: stytch.url,
          ROTATOR_CLIENTS: JSON.stringify(
            Object.fromEntries(config.clients.map((c) => [c.clientId, { kind: c.kind, policy: c.policy }])),
          ),
        };
        Object.assign(process.env, env);
        const real = createStepDeps(readRotatorEnv(env), logger);
        deps = {
          ...real,
          // EMF goes to stdout in a Lambda; here it is kept for tests and the demo instead.
          metrics: {
            rotationEnded: (metric) => metrics.push({ name: 'rotationEnded', ...metric }),
            firstConsumerReport: (metric) => metrics.push({ name: 'firstConsumerReport', ...metric }),
          },
          stytch: {
            ...real.stytch,
            startRotation: async (client) => {
              const started = await real.stytch.startRotation(client);
              secrets.push(started.nextSecret);
              return started;
            },
          },
          events: {
            publish: async (...published) => {
              await real.events.publish(...published);
              for (const event of published) {
                events.push(event);
                options.onRotatorEvent?.(event);
              }
            },
          },
        };
      }
      return deps;
    };
    const bind = (name: StepName) => lambdaHandler(name, STEP_BODIES[name] as never, containerDeps);
    const executor = LocalExecutor.fromTemplate(template, {
      handlers: {
        'StartRotationFunction/Function': bind('StartRotation'),
        'PublishPendingFunction/Function': bind('PublishPending'),
        'AwaitConsumersFunction/Function': bind('AwaitConsumers'),
        'CompleteRotationFunction/Function': bind('CompleteRotation'),
        'CancelRotationFunction/Function': bind('CancelRotation'),
        'RecordFailureFunction/Function': bind('RecordFailure'),
      },
      stateMachineName: 'StytchM2MRotator',
      retryIntervalScale: options.timeScale ?? 0.01,
      waitTimeScale: options.timeScale ?? 0.01,
    });
    stopTasks.push(async () => executor.close());

    // Who may put what on the bus: IAM users in moto holding the template's own policies (see
    // principals.ts), authenticated and authorized by the gateway on every PutEvents.
    const iamPool = new Pool(motoEndpoint, { connections: 4 });
    stopTasks.push(() => iamPool.close());
    const iam: PrincipalsTarget = {
      endpoint: motoEndpoint,
      region: REGION,
      accountId: MOTO_ACCOUNT_ID,
      dispatcher: iamPool,
      eventBusArn: eventBusArn(BUS, { region: REGION, accountId: MOTO_ACCOUNT_ID }),
    };
    const templatePolicies = templateManagedPolicies(template, {
      region: REGION,
      accountId: MOTO_ACCOUNT_ID,
      eventBusName: BUS,
      stateMachineArn: executor.stateMachineArn,
    });
    const created = await createSandboxPrincipals(
      iam,
      templatePolicies,
      config.clients.flatMap((client) => client.policy.expectedConsumers),
    );
    principals = created;
    for (const key of [created.operator, created.functions, created.githubWebhook, created.stepFunctions]) {
      secrets.push(new Secret(key.secretAccessKey));
    }
    for (const key of created.consumers.values()) secrets.push(new Secret(key.secretAccessKey));
    say(
      `IAM users in moto: the operator (${created.operator.accessKeyId}), ${created.consumers.size} consumers ` +
        `tagged ${CONSUMER_PRINCIPAL_TAG}, the functions; the gateway checks every PutEvents against the template's policies`,
    );

    const gateway = await SandboxGateway.start({
      motoEndpoint,
      executor,
      template,
      eventBusName: BUS,
      lambdaTargets: {
        'HealthAggregatorFunction/Function': bind('HealthAggregator'),
        'LeakIntakeFunction/Function': bind('LeakIntake'),
        'ExecutionReconcilerFunction/Function': bind('ExecutionReconciler'),
      },
      region: REGION,
      putEvents: {
        accessKeys: [
          created.operator,
          created.functions,
          created.githubWebhook,
          created.stepFunctions,
          ...created.consumers.values(),
        ],
        taggedGrants: { [CONSUMER_PRINCIPAL_TAG]: CONSUMER_POLICY },
      },
    });
    stopTasks.push(() => gateway.stop());
    // Step Functions announces every execution's end on the bus; the template's rule sends the
    // failed, stopped and timed-out ones to the execution reconciler.
    const announceEnds = new EventBridgeClient(awsClientConfig(gateway.url, created.stepFunctions));
    const executionEnds = new Set<Promise<unknown>>();
    stopTasks.push(async () => announceEnds.destroy());
    const unsubscribe = executor.onExecutionEnded((ended) => {
      const detail = {
        executionArn: ended.executionArn,
        stateMachineArn: ended.stateMachineArn,
        name: ended.name,
        status: ended.status,
        startDate: ended.startDate.getTime(),
        stopDate: ended.stopDate?.getTime() ?? null,
        input: ended.input ?? null,
      };
      const sent = announceEnds
        .send(
          new PutEventsCommand({
            Entries: [
              {
                Source: 'aws.states',
                DetailType: 'Step Functions Execution Status Change',
                Detail: JSON.stringify(detail),
                EventBusName: BUS,
                Resources: [ended.executionArn],
              },
            ],
          }),
        )
        .catch(() => undefined);
      executionEnds.add(sent);
      void sent.finally(() => executionEnds.delete(sent));
    });
    stopTasks.push(async () => unsubscribe());
    gatewayUrl = gateway.url;
    say(`sandbox gateway (the one AWS endpoint) on ${gateway.url}`);

    // The GitHub secret-scanning webhook: the deployed handler behind a loopback listener (the
    // Function URL's stand-in), fetching alerts from a GitHub API emulator, reaching AWS through
    // the gateway so its Secret Leak Detected goes to the template's leak rule.
    const github = await GitHubEmulator.start();
    stopTasks.push(() => github.close());
    const webhookSecret = new Secret(randomBytes(24).toString('base64url'));
    await putSecret(secretsManager, GITHUB_WEBHOOK_SECRET, webhookSecret.reveal());
    await putSecret(secretsManager, GITHUB_TOKEN_SECRET, github.token);
    secrets.push(webhookSecret, new Secret(github.token));
    const viaGateway = awsClientConfig(gateway.url, created.githubWebhook);
    const webhookDeps = createGitHubWebhookDeps(
      readGitHubWebhookEnv({
        ROTATOR_TABLE_NAME: TABLE,
        ROTATOR_EVENT_BUS_NAME: BUS,
        ROTATOR_FINGERPRINT_KEY_SECRET_ID: FINGERPRINT_KEY_SECRET,
        ROTATOR_GITHUB_WEBHOOK_SECRET_ID: GITHUB_WEBHOOK_SECRET,
        ROTATOR_GITHUB_TOKEN_SECRET_ID: GITHUB_TOKEN_SECRET,
        ROTATOR_GITHUB_API_URL: github.url,
      }),
      {
        logger,
        clients: {
          secretsManager: new SecretsManagerClient(viaGateway),
          dynamoDocument: DynamoDBDocumentClient.from(new DynamoDBClient(viaGateway), {
            marshallOptions: { removeUndefinedValues: true },
          }),
          eventBridge: new EventBridgeClient(viaGateway),
        },
      },
    );
    const webhookListener = await WebhookListener.start({
      handler: createGitHubWebhookHandler(() => webhookDeps),
    });
    stopTasks.push(() => webhookListener.close());
    say(`GitHub secret-scanning webhook on ${webhookListener.url} (GitHub API emulator on ${github.url})`);

    // What `rotator register` needs for --schedule: the group and the role the stack creates.
    // A reused moto (`--aws-endpoint`, run after run) has them from an earlier run: this run's win.
    const scheduler = new SchedulerClient(direct);
    await scheduler
      .send(new CreateScheduleGroupCommand({ Name: REGISTERED_SCHEDULES_GROUP }))
      .catch((error) => {
        if (!(error instanceof ConflictException)) throw error;
      });
    // The template's schedules exist too (so `rotator status` shows them); they fire when a demo
    // scenario says so, not on their clock.
    for (const schedule of templateSchedules(template)) {
      const input = {
        Name: schedule.logicalId.slice(0, 64),
        ScheduleExpression: schedule.expression,
        ScheduleExpressionTimezone: schedule.timeZone,
        FlexibleTimeWindow: { Mode: 'OFF' as const },
        Target: {
          Arn: executor.stateMachineArn,
          RoleArn: REGISTERED_SCHEDULES_ROLE_ARN,
          Input: schedule.input,
        },
      };
      await scheduler.send(new CreateScheduleCommand(input)).catch(async (error) => {
        if (!(error instanceof ConflictException)) throw error;
        await scheduler.send(new UpdateScheduleCommand(input));
      });
    }
    scheduler.destroy();

    // The stack outputs a deployment has, as a stack in moto: `rotator --stack StytchM2MRotator`
    // finds the sandbox's resources the way it finds a deployment's.
    const outputs = sandboxStackOutputs(executor.stateMachineArn, config.secretPrefix, stytch.url);
    const cloudFormation = new CloudFormationClient(direct);
    const createStack = new CreateStackCommand({
      StackName: SANDBOX_STACK_NAME,
      TemplateBody: JSON.stringify({
        Resources: { SandboxMarker: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
        Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
      }),
    });
    await cloudFormation.send(createStack).catch(async (error) => {
      if (!(error instanceof AlreadyExistsException)) throw error;
      await cloudFormation.send(new DeleteStackCommand({ StackName: SANDBOX_STACK_NAME }));
      await cloudFormation.send(createStack);
    });
    cloudFormation.destroy();

    return new Sandbox({
      gateway,
      motoEndpoint,
      stytch,
      emulator,
      stytchClient,
      executor,
      template,
      config,
      clientIdMap,
      secrets,
      functionLogs,
      events,
      metrics,
      github,
      githubWebhook: { url: webhookListener.url, secret: webhookSecret },
      stopTasks,
      executionEnds,
      principals: created,
      iam,
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
      AWS_REGION: REGION,
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
    return sandboxStackOutputs(this.executor.stateMachineArn, this.config.secretPrefix, this.stytch.url);
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
    const captured: { source: string; text: string }[] = [
      { source: 'function logs', text: this.functionLogs.join('\n') },
      { source: 'events', text: JSON.stringify(this.events) },
      { source: 'template', text: JSON.stringify(this.template) },
      { source: 'gateway deliveries', text: JSON.stringify([this.gatewayDeliveries, this.gatewayFailures]) },
    ];
    for (const execution of this.executor.listExecutions()) {
      captured.push({
        source: `execution ${execution.name}`,
        text: JSON.stringify([
          this.executor.describeExecution(execution.executionArn),
          this.executor.getExecutionHistory(execution.executionArn).events,
        ]),
      });
    }
    const documents = DynamoDBDocumentClient.from(this.aws.dynamo);
    const items: unknown[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(new ScanCommand({ TableName: TABLE, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    captured.push({ source: 'ledger items', text: JSON.stringify(items) });
    if (this.emulator !== undefined) {
      captured.push({ source: 'Stytch request log', text: JSON.stringify(this.emulator.requestLog()) });
    }
    return captured;
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

/**
 * SDK v3 client settings for the sandbox: one endpoint, a real region, and `credentials` (dummy ones
 * by default: moto checks none, but the gateway refuses a `PutEvents` not signed by a key it knows).
 */
export function awsClientConfig(
  endpoint: string,
  credentials: AccessKey = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
) {
  return {
    endpoint,
    region: REGION,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
  } as const;
}

/**
 * Creates a confidential (first-party) Connected App: they are created outside the rotator (our
 * client has no create for them) and Stytch chooses their ids.
 */
export async function createConnectedApp(
  stytch: ExternalStytch,
): Promise<{ clientId: string; clientSecret: Secret }> {
  const response = await fetch(`${stytch.url}/v1/connected_apps/clients`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${stytch.projectId}:${stytch.projectSecret}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ client_type: 'first_party', client_name: 'sandbox connected app' }),
  });
  const body = (await response.json()) as { connected_app?: { client_id?: string; client_secret?: string } };
  const app = body.connected_app;
  if (!response.ok || app?.client_id === undefined || app.client_secret === undefined) {
    throw new Error(`creating a Connected App at Stytch failed: HTTP ${response.status}`);
  }
  return { clientId: app.client_id, clientSecret: new Secret(app.client_secret) };
}
