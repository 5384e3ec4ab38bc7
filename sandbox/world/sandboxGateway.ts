/**
 * The sandbox's one AWS endpoint and who may use it: IAM users in moto holding the template's own
 * policies (see principals.ts), the gateway that authenticates and authorizes every PutEvents and
 * routes events by the template's rules, and Step Functions' status-change announcements.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { Pool } from 'undici';
import { CONSUMER_PRINCIPAL_TAG } from '#core/events.js';
import { Secret } from '#core/secret.js';
import { REVOCATION_DOCUMENT_KEY } from '#core/tokenRevocation.js';
import { eventBusArn, MOTO_ACCOUNT_ID, SandboxGateway, templateManagedPolicies } from '../gateway/index.js';
import type { LocalExecutor } from '../localExecutor/index.js';
import { awsClientConfig, WORLD_REGION } from './awsClientConfig.js';
import type { BoundHandler } from './handlerBinding.js';
import {
  CONSUMER_POLICY,
  createSandboxPrincipals,
  type PrincipalsTarget,
  type SandboxPrincipals,
} from './principals.js';
import { SANDBOX_REVOCATIONS_BUCKET } from './sandboxRevocations.js';

/** Stops a part of the sandbox; pushed as each part starts, run in reverse. */
export type StopTasks = (() => Promise<void>)[];

/** The principals the sandbox created in moto, and where (for consumers created later). */
export interface SandboxIam {
  readonly iam: PrincipalsTarget;
  readonly principals: SandboxPrincipals;
}

/**
 * Creates the operator, one user per expected consumer and the stand-ins for the sandbox's own
 * identities, holding the template's policies; every secret access key is appended to `secrets`.
 */
export async function createSandboxIam(
  motoEndpoint: string,
  world: { readonly template: unknown; readonly eventBusName: string; readonly stateMachineArn: string },
  expectedConsumers: readonly string[],
  secrets: Secret[],
  stopTasks: StopTasks,
): Promise<SandboxIam> {
  const iamPool = new Pool(motoEndpoint, { connections: 4 });
  stopTasks.push(() => iamPool.close());
  const iam: PrincipalsTarget = {
    endpoint: motoEndpoint,
    region: WORLD_REGION,
    accountId: MOTO_ACCOUNT_ID,
    dispatcher: iamPool,
    eventBusArn: eventBusArn(world.eventBusName, { region: WORLD_REGION, accountId: MOTO_ACCOUNT_ID }),
  };
  const templatePolicies = templateManagedPolicies(world.template, {
    region: WORLD_REGION,
    accountId: MOTO_ACCOUNT_ID,
    eventBusName: world.eventBusName,
    stateMachineArn: world.stateMachineArn,
  });
  const principals = await createSandboxPrincipals(
    iam,
    templatePolicies,
    expectedConsumers,
    `arn:aws:s3:::${SANDBOX_REVOCATIONS_BUCKET}/${REVOCATION_DOCUMENT_KEY}`,
  );
  for (const key of [
    principals.operator,
    principals.functions,
    principals.githubWebhook,
    principals.stepFunctions,
    principals.resourceServer,
  ]) {
    secrets.push(new Secret(key.secretAccessKey));
  }
  for (const key of principals.consumers.values()) secrets.push(new Secret(key.secretAccessKey));
  return { iam, principals };
}

/** What {@link startSandboxGateway} routes to. */
export interface GatewayWorld {
  readonly motoEndpoint: string;
  readonly executor: LocalExecutor;
  /** The template's other state machines' executors (the fleet workflow). */
  readonly otherExecutors?: readonly LocalExecutor[];
  readonly template: unknown;
  readonly eventBusName: string;
  /** The handlers of the functions the template's rules target, by construct path. */
  readonly lambdaTargets: Readonly<Record<string, BoundHandler>>;
  readonly principals: SandboxPrincipals;
}

/** Starts the gateway: moto behind it, Step Functions from the executor, events routed by the template. */
export async function startSandboxGateway(
  world: GatewayWorld,
  stopTasks: StopTasks,
): Promise<SandboxGateway> {
  const { principals } = world;
  const gateway = await SandboxGateway.start({
    motoEndpoint: world.motoEndpoint,
    executor: world.executor,
    ...(world.otherExecutors === undefined ? {} : { otherExecutors: world.otherExecutors }),
    template: world.template,
    eventBusName: world.eventBusName,
    lambdaTargets: world.lambdaTargets,
    region: WORLD_REGION,
    putEvents: {
      accessKeys: [
        principals.operator,
        principals.functions,
        principals.githubWebhook,
        principals.stepFunctions,
        ...principals.consumers.values(),
      ],
      taggedGrants: { [CONSUMER_PRINCIPAL_TAG]: CONSUMER_POLICY },
    },
  });
  stopTasks.push(() => gateway.stop());
  return gateway;
}

/**
 * Announces every execution's end on the bus as Step Functions does (the template's rule sends the
 * failed, stopped and timed-out ones to the execution reconciler); returns the announcements on
 * their way, which settle once sent.
 */
export function announceExecutionEnds(
  executor: LocalExecutor,
  gateway: { readonly url: string },
  principals: SandboxPrincipals,
  eventBusName: string,
  stopTasks: StopTasks,
): Set<Promise<unknown>> {
  const announceEnds = new EventBridgeClient(awsClientConfig(gateway.url, principals.stepFunctions));
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
    const entry = {
      Source: 'aws.states',
      DetailType: 'Step Functions Execution Status Change',
      Detail: JSON.stringify(detail),
      EventBusName: eventBusName,
      Resources: [ended.executionArn],
    };
    const sent = announceEnds.send(new PutEventsCommand({ Entries: [entry] })).catch(() => undefined);
    executionEnds.add(sent);
    void sent.finally(() => executionEnds.delete(sent));
  });
  stopTasks.push(async () => unsubscribe());
  return executionEnds;
}
