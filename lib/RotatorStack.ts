import { CfnOutput, CfnRule, Fn, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from './config/DeploymentConfig.js';
import { StytchM2MRotator } from './StytchM2MRotator.js';

/** Props of {@link RotatorStack}. */
export interface RotatorStackProps extends StackProps {
  /** The validated deployment config. */
  readonly config: DeploymentConfig;
  /**
   * Name of the rotator's event bus.
   * @default 'stytch-m2m-rotator'
   */
  readonly eventBusName?: string;
  /**
   * What happens to every stateful resource when the stack is deleted ({@link StytchM2MRotator}).
   * @default - only the ledger, its key, the managed secrets, the fingerprint key and the logs are kept
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Deploy a config marked `"sample": true` on purpose (`-c allowSample=true`). Without it, the
   * template of the sample carries a rule CloudFormation refuses to deploy: synth works, deploy stops.
   * @default false
   */
  readonly allowSample?: boolean;
}

/** The deployable stack: one {@link StytchM2MRotator} and the outputs a CLI and consumers need. */
export class RotatorStack extends Stack {
  public readonly rotator: StytchM2MRotator;

  public constructor(scope: Construct, id: string, props: RotatorStackProps) {
    super(scope, id, props);
    this.rotator = new StytchM2MRotator(this, 'Rotator', {
      config: props.config,
      ...(props.eventBusName === undefined ? {} : { eventBusName: props.eventBusName }),
      ...(props.removalPolicy === undefined ? {} : { removalPolicy: props.removalPolicy }),
    });
    if (props.config.sample === true && props.allowSample !== true) refuseToDeploy(this);
    const outputs: Record<string, { value: string; description: string }> = {
      StateMachineArn: {
        value: this.rotator.stateMachine.stateMachineArn,
        description: 'The rotation workflow (rotator rotate/cancel start and stop executions here)',
      },
      FleetStateMachineArn: {
        value: this.rotator.fleetRotation.stateMachine.stateMachineArn,
        description: 'The fleet workflow (rotator rotate --all | --selector runs a Distributed Map here)',
      },
      FleetBucketName: {
        value: this.rotator.fleetRotation.bucket.bucketName,
        description: "Fleet runs' selections (selections/<run>.json) and the map's results",
      },
      EventBusName: {
        value: this.rotator.eventBus.eventBusName,
        description: 'Event bus for Rotation Pending, Consumer Health Reported and Secret Leak Detected',
      },
      LedgerTableName: {
        value: this.rotator.ledger.tableName,
        description: 'Rotation ledger (rotator status/history read it)',
      },
      SecretPrefix: {
        value: props.config.secretPrefix,
        description: 'Managed secrets are named <prefix>/<client_id>',
      },
      EncryptionKeyArn: {
        value: this.rotator.encryptionKey.keyArn,
        description: 'KMS key that encrypts the managed secrets (consumers need kms:Decrypt on it)',
      },
      FingerprintKeySecretArn: {
        value: this.rotator.fingerprintKey.secretArn,
        description: 'HMAC key of secret fingerprints (rotator leak report --secret-stdin reads it)',
      },
      StytchCredentialsSecretArn: {
        value: props.config.stytch.projectCredentialsSecretArn,
        description: 'The Stytch project credentials (rotator register reads them to create clients)',
      },
      RegisteredSchedulesGroup: {
        value: this.rotator.registeredSchedules.scheduleGroupName,
        description: 'Schedule group of clients registered with rotator register',
      },
      RegisteredSchedulesRoleArn: {
        value: this.rotator.registeredSchedulesRole.roleArn,
        description: 'Role those schedules start rotations with (rotator register needs iam:PassRole on it)',
      },
      GitHubWebhookUrl: {
        value: this.rotator.githubWebhook.functionUrl.url,
        description: 'Payload URL of the GitHub secret-scanning webhook (content type application/json)',
      },
      GitHubWebhookSecretArn: {
        value: this.rotator.githubWebhook.webhookSecret.secretArn,
        description: "The webhook's shared secret: paste its value into the GitHub webhook settings",
      },
      GitHubTokenSecretArn: {
        value: this.rotator.githubWebhook.tokenSecret.secretArn,
        description: 'Put a GitHub token that can read secret-scanning alerts here',
      },
      ConsumerPolicyArn: {
        value: this.rotator.consumerPolicy.managedPolicyArn,
        description:
          "Attach to a consumer role tagged rotator-consumer=<name>: it may publish that consumer's health reports only",
      },
      OperatorPolicyArn: {
        value: this.rotator.operatorPolicy.managedPolicyArn,
        description: 'Attach to operators (the rotator CLI): rotate, cancel, status, history, leak report',
      },
      TokenRevocationsUrl: {
        value: this.rotator.tokenRevocations.bucket.virtualHostedUrlForObject(
          this.rotator.tokenRevocations.documentKey,
          { regional: true },
        ),
        description:
          'The token revocation document resource servers poll (signed GET, If-None-Match): docs/token-revocation.md',
      },
      TokenRevocationsBucket: {
        value: this.rotator.tokenRevocations.bucket.bucketName,
        description: 'Bucket of the token revocation document (key token-revocations.json)',
      },
      TokenRevocationReaderPolicyArn: {
        value: this.rotator.tokenRevocations.readerPolicy.managedPolicyArn,
        description:
          "Attach to a resource server's role: it may read the token revocation document, nothing else",
      },
      StytchRequestsPerSecond: {
        value: String(props.config.stytch.requestsPerSecond),
        description:
          "The Stytch project's shared budget per group (the CLI takes from it as the functions do)",
      },
      SecretsManagerWritesPerSecond: {
        value: String(props.config.secretsManagerWritesPerSecond),
        description: 'The shared Secrets Manager write budget (the CLI takes from it as the functions do)',
      },
      DeadLetterQueueUrl: {
        value: this.rotator.deadLetterQueue.queueUrl,
        description: 'Events and schedules that could not be delivered',
      },
      DeadLetterQueueArn: {
        value: this.rotator.deadLetterQueue.queueArn,
        description: 'The dead-letter queue of the clients’ schedules (rotator apply and register set it)',
      },
      AsyncFailureQueueUrl: {
        value: this.rotator.asyncFailureQueue.queueUrl,
        description:
          'Events a function failed on after its retries, with the error (aws sqs receive-message)',
      },
    };
    for (const [id, output] of Object.entries(outputs)) new CfnOutput(this, id, output);
  }
}

/**
 * A template rule that never holds: CloudFormation checks rules before it creates or changes
 * anything, so `cdk deploy` of the sample stops there with this description, and `cdk synth` (which
 * deploys nothing) still works. The app cannot tell synth from deploy; the template can.
 */
function refuseToDeploy(stack: Stack): void {
  new CfnRule(stack, 'SampleConfigNotDeployable', {
    assertions: [
      {
        assert: Fn.conditionEquals('sample-config', 'deployable-config'),
        assertDescription:
          'This template was synthesized from the sample config (config/rotator.sample.json): its clients are ' +
          'made up. Deploy your own config (-c config=<path>), or pass -c allowSample=true to deploy the sample on purpose.',
      },
    ],
  });
}
