/**
 * The GitHub secret-scanning webhook in the sandbox: the deployed handler behind a loopback
 * listener (the Function URL's stand-in), fetching alerts from a GitHub API emulator, reaching AWS
 * through the gateway so its Secret Leak Detected goes to the template's leak rule.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { StepLogger } from '#core/deps.js';
import { Secret } from '#core/secret.js';
import type { AccessKey } from '../gateway/iamQuery.js';
import { GitHubEmulator, WebhookListener } from '../github-emulator/index.js';
import { awsClientConfig } from './awsClientConfig.js';
import { putSecret } from './awsSetup.js';
import { bindGitHubWebhook } from './handlerBinding.js';
import type { StopTasks } from './sandboxGateway.js';
import { githubWebhookEnvironment } from './worldEnvironment.js';
import { WORLD_RESOURCE_NAMES } from './worldResources.js';

const GITHUB_WEBHOOK_SECRET = 'stytch-m2m-rotator/github-webhook-secret';
const GITHUB_TOKEN_SECRET = 'stytch-m2m-rotator/github-token';

/** The sandbox's webhook: GitHub's API emulator, and the receiver's URL and signing secret. */
export interface SandboxGitHub {
  readonly github: GitHubEmulator;
  readonly webhook: { readonly url: string; readonly secret: Secret };
}

/** What the webhook is started with. */
export interface SandboxGitHubOptions {
  /** Where its secrets are stored (moto, directly). */
  readonly secretsManager: SecretsManagerClient;
  /** The gateway's URL, and the webhook function's own access key. */
  readonly gatewayUrl: string;
  readonly accessKey: AccessKey;
  readonly logger: StepLogger;
  /** The webhook secret and GitHub's token are appended (for the leak scan). */
  readonly secrets: Secret[];
}

/** Starts GitHub's API emulator and the webhook receiver over the deployed handler. */
export async function startSandboxGitHub(
  options: SandboxGitHubOptions,
  stopTasks: StopTasks,
): Promise<SandboxGitHub> {
  const github = await GitHubEmulator.start();
  stopTasks.push(() => github.close());
  const webhookSecret = new Secret(randomBytes(24).toString('base64url'));
  await putSecret(options.secretsManager, GITHUB_WEBHOOK_SECRET, webhookSecret.reveal());
  await putSecret(options.secretsManager, GITHUB_TOKEN_SECRET, github.token);
  options.secrets.push(webhookSecret, new Secret(github.token));
  const viaGateway = awsClientConfig(options.gatewayUrl, options.accessKey);
  const handler = bindGitHubWebhook(
    githubWebhookEnvironment({
      names: WORLD_RESOURCE_NAMES,
      webhookSecretId: GITHUB_WEBHOOK_SECRET,
      tokenSecretId: GITHUB_TOKEN_SECRET,
      githubApiUrl: github.url,
    }),
    options.logger,
    {
      secretsManager: new SecretsManagerClient(viaGateway),
      dynamoDocument: DynamoDBDocumentClient.from(new DynamoDBClient(viaGateway), {
        marshallOptions: { removeUndefinedValues: true },
      }),
      eventBridge: new EventBridgeClient(viaGateway),
    },
  );
  const listener = await WebhookListener.start({ handler });
  stopTasks.push(() => listener.close());
  return { github, webhook: { url: listener.url, secret: webhookSecret } };
}
