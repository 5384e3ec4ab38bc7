/**
 * The stack a world runs: the config with the ids Stytch gave its clients, the template `cdk synth`
 * produces for its deployment config (no clients: they are registry data), and its state machine run by the local executor.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type DeploymentConfig, parseDeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import { RotatorStack } from '../../lib/RotatorStack.js';
import { LocalExecutor } from '../localExecutor/index.js';
import type { BoundHandler } from './handlerBinding.js';
import { deploymentConfigOf, type SandboxConfig, withClients } from './sandboxConfig.js';

/** The stack's name (and its state machine's), as the deployed one is named. */
export const WORLD_STACK_NAME = 'StytchM2MRotator';

/**
 * `config` as the world deploys it: its Stytch credentials in the world's secret, each client
 * under the id Stytch registered it with (`registeredIds`: config id → registered id).
 */
export function enrolledConfig(
  config: SandboxConfig,
  credentialsArn: string,
  registeredIds: ReadonlyMap<string, string>,
): SandboxConfig {
  const deployment = parseDeploymentConfig({
    ...deploymentConfigOf(config),
    stytch: { projectCredentialsSecretArn: credentialsArn },
  });
  return withClients(
    deployment,
    config.clients.map((client) => ({
      ...client,
      clientId: registeredIds.get(client.clientId) ?? client.clientId,
    })),
  );
}

/**
 * The template `cdk synth` produces for `config`: path metadata as the CLI writes it (handlers are
 * matched by construct path); no bundling (the local executor runs the handler sources).
 */
export function synthesizeTemplate(config: DeploymentConfig | SandboxConfig): unknown {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
  const deployment = 'clients' in config ? deploymentConfigOf(config as SandboxConfig) : config;
  return Template.fromStack(new RotatorStack(app, WORLD_STACK_NAME, { config: deployment })).toJSON();
}

/**
 * The template's state machine in the local executor, each Lambda task bound to `handlers`;
 * Wait states and retry intervals scaled by `timeScale` (1 = real time).
 */
export function createWorldExecutor(
  template: unknown,
  handlers: Readonly<Record<string, BoundHandler>>,
  timeScale: number,
): LocalExecutor {
  return LocalExecutor.fromTemplate(template, {
    handlers,
    stateMachineLogicalId: stateMachineLogicalId(template, 'Rotator/Workflow/StateMachine'),
    stateMachineName: WORLD_STACK_NAME,
    retryIntervalScale: timeScale,
    waitTimeScale: timeScale,
  });
}

/**
 * The logical id of the template's state machine whose construct path ends with `pathTail` (the
 * template has two: the rotation workflow and the fleet workflow).
 */
export function stateMachineLogicalId(template: unknown, pathTail: string): string {
  return resourceLogicalId(template, 'AWS::StepFunctions::StateMachine', pathTail);
}

/** The logical id of the template's resource of `type` whose construct path ends with `pathTail`. */
export function resourceLogicalId(template: unknown, type: string, pathTail: string): string {
  const resources = (
    template as { Resources?: Record<string, { Type?: string; Metadata?: Record<string, unknown> }> }
  ).Resources;
  for (const [logicalId, resource] of Object.entries(resources ?? {})) {
    if (resource.Type !== type) continue;
    const path = resource.Metadata?.['aws:cdk:path'];
    if (typeof path === 'string' && path.replace(/\/Resource$/, '').endsWith(`/${pathTail}`))
      return logicalId;
    // Without path metadata: CDK's logical id is the path's ids joined, plus an 8-character hash.
    if (path === undefined && logicalId.slice(0, -8).endsWith(pathTail.replaceAll('/', ''))) return logicalId;
  }
  throw new Error(`the template has no ${type} at .../${pathTail}`);
}
