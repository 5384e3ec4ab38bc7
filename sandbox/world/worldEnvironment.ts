/**
 * The environment a world's functions run with: the standard AWS configuration pointed at the
 * world's AWS endpoint, and the rotator's variables as the template sets them in Lambda, naming the
 * world's resources.
 */
import type { RateBudgetSettings } from '#core/rateBudget.js';
import type { DeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import type { AccessKey } from '../gateway/iamQuery.js';
import { WORLD_REGION } from './awsClientConfig.js';
import { githubWebhookFunctionEnvironment, workflowFunctionEnvironment } from './handlerBinding.js';
import type { WorldResourceNames } from './worldResources.js';

/** What {@link stepFunctionEnvironment} is made from. */
export interface StepFunctionWorld {
  /** The AWS endpoint the functions' SDK clients call (`AWS_ENDPOINT_URL`). */
  readonly awsEndpoint: string;
  /** The functions' own identity (their execution role in AWS). */
  readonly accessKey: AccessKey;
  readonly names: WorldResourceNames;
  /** The deployment config (its secret prefix). */
  readonly config: Pick<DeploymentConfig, 'secretPrefix'>;
  /** The Stytch the functions talk to (`ROTATOR_STYTCH_BASE_URL`). */
  readonly stytchUrl: string;
  /** The state machine the leak intake starts. @default - unset (a world that starts executions itself) */
  readonly stateMachineArn?: string;
  /** The deployment's shared budgets. @default - the functions' defaults (core/rateBudget.ts) */
  readonly rateBudget?: RateBudgetSettings;
}

/** The environment of the rotator's step functions (every `ROTATOR_*` variable the template sets). */
export function stepFunctionEnvironment(world: StepFunctionWorld): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: world.awsEndpoint,
    AWS_REGION: WORLD_REGION,
    AWS_ACCESS_KEY_ID: world.accessKey.accessKeyId,
    AWS_SECRET_ACCESS_KEY: world.accessKey.secretAccessKey,
    ...workflowFunctionEnvironment({
      tableName: world.names.tableName,
      eventBusName: world.names.eventBusName,
      secretPrefix: world.config.secretPrefix,
      stytchCredentialsSecretId: world.names.credentialsSecretId,
      fingerprintKeySecretId: world.names.fingerprintKeySecretId,
      ...(world.stateMachineArn === undefined ? {} : { stateMachineArn: world.stateMachineArn }),
      stytchBaseUrl: world.stytchUrl,
      ...world.rateBudget,
    }),
  };
}

/** What {@link githubWebhookEnvironment} is made from. */
export interface GitHubWebhookWorld {
  readonly names: WorldResourceNames;
  readonly webhookSecretId: string;
  readonly tokenSecretId: string;
  /** GitHub's API (the emulator's URL). */
  readonly githubApiUrl: string;
}

/** The environment of the GitHub secret-scanning webhook function (its `ROTATOR_*` variables). */
export function githubWebhookEnvironment(world: GitHubWebhookWorld): Record<string, string> {
  return githubWebhookFunctionEnvironment({
    tableName: world.names.tableName,
    eventBusName: world.names.eventBusName,
    fingerprintKeySecretId: world.names.fingerprintKeySecretId,
    githubWebhookSecretId: world.webhookSecretId,
    githubTokenSecretId: world.tokenSecretId,
    githubApiUrl: world.githubApiUrl,
  });
}
