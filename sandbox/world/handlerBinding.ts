/**
 * The deployed handler code, bound for a world (the sandbox, the workflow tests): which function of
 * the template runs which step body, how a function's deps are built from its environment, and the
 * environment contract's writers. The one module of the sandbox that imports the functions' wiring
 * (lambdas/wiring/), so the rest of the sandbox does not depend on how functions are assembled.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StepDeps, StepLogger } from '#core/deps.js';
import type { RotatorEvent } from '#core/events.js';
import { readGitHubWebhookEnv, readRotatorEnv } from '#wiring/environment.js';
import {
  createGitHubWebhookDeps,
  createGitHubWebhookHandler,
  type GitHubWebhookHandler,
} from '#wiring/githubWebhook.js';
import { createStepDeps } from '#wiring/stepDeps.js';
import { lambdaHandler } from '#wiring/stepHandler.js';
import { STEP_BODIES, type StepName } from '#wiring/steps.js';
import { readTokenRevocationEnv } from '#wiring/tokenRevocationEnvironment.js';
import {
  createTokenRevocationDeps,
  tokenRevocationPublisherHandler,
} from '#wiring/tokenRevocationPublisher.js';

// The environment contract lib/ writes the functions' variables with (names and serialization).
export { githubWebhookFunctionEnvironment, workflowFunctionEnvironment } from '#wiring/environment.js';
export { tokenRevocationPublisherEnvironment } from '#wiring/tokenRevocationEnvironment.js';
export type { StepName };

/** One deployed function as a world runs it: one Lambda invocation per call (the context is the invoker's). */
export type BoundHandler = (event: unknown, context?: unknown) => Promise<unknown>;

/** The state machine's Lambda tasks, by the construct path the template's metadata gives them. */
export const STATE_MACHINE_TASKS = {
  'StartRotationFunction/Function': 'StartRotation',
  'PublishPendingFunction/Function': 'PublishPending',
  'AwaitConsumersFunction/Function': 'AwaitConsumers',
  'CompleteRotationFunction/Function': 'CompleteRotation',
  'CancelRotationFunction/Function': 'CancelRotation',
  'RecordFailureFunction/Function': 'RecordFailure',
} as const satisfies Readonly<Record<string, StepName>>;

/** The functions the template's EventBridge rules target, by construct path. */
export const EVENT_RULE_TARGETS = {
  'HealthAggregatorFunction/Function': 'HealthAggregator',
  'LeakIntakeFunction/Function': 'LeakIntake',
  'ExecutionReconcilerFunction/Function': 'ExecutionReconciler',
} as const satisfies Readonly<Record<string, StepName>>;

/**
 * The rule target that is not a step over StepDeps: the TokenRevocationPublisher (its own deps, an
 * S3 document and the bus), by construct path tail. Bound by {@link bindTokenRevocationPublisher}.
 */
export const TOKEN_REVOCATION_PUBLISHER_TARGET = 'TokenRevocations/PublisherFunction/Function';

/** The SDK clients the TokenRevocationPublisher's deps use (pointed at the world's AWS). */
export interface TokenRevocationWorldClients {
  readonly s3: S3Client;
  readonly eventBridge: EventBridgeClient;
}

/**
 * The deployed TokenRevocationPublisher, its environment validated as in Lambda, over `clients`;
 * `observe` sees each event it publishes (the world's event list).
 */
export function bindTokenRevocationPublisher(
  environment: Readonly<Record<string, string | undefined>>,
  logger: StepLogger,
  clients: () => TokenRevocationWorldClients,
  observe: (event: RotatorEvent) => void = () => undefined,
): BoundHandler {
  const handler = tokenRevocationPublisherHandler(() => {
    const deps = createTokenRevocationDeps(readTokenRevocationEnv(environment), {
      logger,
      clients: clients(),
    });
    return {
      ...deps,
      events: {
        publish: async (event) => {
          const result = await deps.events.publish(event);
          observe(event);
          return result;
        },
      },
    };
  });
  return (event, context) => handler(event, context);
}

/**
 * The deployed handler of step `name` (its body in the Lambda wrapper: the invocation context, the
 * error mapping), over the deps `deps` resolves to.
 */
export function bindStep(name: StepName, deps: () => Promise<StepDeps>): BoundHandler {
  const handler = lambdaHandler(name, STEP_BODIES[name] as never, deps);
  return (event, context) => handler(event as never, context);
}

/** A handler map (construct path → handler) for `functions`, each bound by `bind`. */
export function bindFunctions(
  functions: Readonly<Record<string, StepName>>,
  bind: (name: StepName) => BoundHandler,
): Record<string, BoundHandler> {
  return Object.fromEntries(Object.entries(functions).map(([path, name]) => [path, bind(name)]));
}

/**
 * The deps a step function's container builds, exactly as in Lambda: the rotator's variables of
 * `environment` validated, SDK clients from the standard AWS configuration (`process.env`).
 */
export function stepDepsFromEnvironment(
  environment: Readonly<Record<string, string | undefined>>,
  logger: StepLogger,
): StepDeps {
  return createStepDeps(readRotatorEnv(environment), { logger });
}

/** The SDK clients the GitHub webhook's deps use (pointed at the world's AWS). */
export interface GitHubWebhookWorldClients {
  readonly secretsManager: SecretsManagerClient;
  readonly dynamoDocument: DynamoDBDocumentClient;
  readonly eventBridge: EventBridgeClient;
}

/** The deployed GitHub webhook handler, its environment validated as in Lambda, over `clients`. */
export function bindGitHubWebhook(
  environment: Readonly<Record<string, string | undefined>>,
  logger: StepLogger,
  clients: GitHubWebhookWorldClients,
): GitHubWebhookHandler {
  const deps = createGitHubWebhookDeps(readGitHubWebhookEnv(environment), { logger, clients });
  return createGitHubWebhookHandler(() => deps);
}
