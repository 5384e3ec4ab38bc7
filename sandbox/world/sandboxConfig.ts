/**
 * What a world (the sandbox, the workflow tests) deploys: a deployment config, and the clients it
 * puts under rotation in the registry, as an operator's `rotator apply` would. In a deployment the
 * two are separate files; a world keeps them together so a test names its clients in one place.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { ClientScheduleSchema } from '#core/clientSpec.js';
import { ClientIdSchema, ClientKindSchema } from '#core/model.js';
import { ClientPolicySchema } from '#core/policy.js';
import { type DeploymentConfig, loadDeploymentConfig } from '../../lib/config/DeploymentConfig.js';

/** A client a world registers at Stytch and manages: the id it asks for, its schedule and policy. */
export const SandboxClientSchema = z.strictObject({
  /** The id asked for (an M2M client's; Stytch chooses a Connected App's): the world maps it to the registered one. */
  clientId: ClientIdSchema,
  kind: ClientKindSchema.default('m2m'),
  schedule: ClientScheduleSchema.optional(),
  policy: ClientPolicySchema.default({ expectedConsumers: [] }),
});
export type SandboxClientInput = z.input<typeof SandboxClientSchema>;
export type SandboxClient = z.output<typeof SandboxClientSchema> & {
  readonly policy: { readonly expectedConsumers: string[] };
};

/** A deployment config and the clients of the world. */
export type SandboxConfig = DeploymentConfig & { readonly clients: readonly SandboxClient[] };

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The sample deployment config (config/rotator.sample.json). */
export const SAMPLE_CONFIG_PATH = `${REPO_ROOT}config/rotator.sample.json`;
/** The sandbox's clients: billing, reporting, payments, search indexer, a Connected App. */
export const SANDBOX_CLIENTS_PATH = `${REPO_ROOT}sandbox/world/sandbox.clients.json`;

/** `config` with `clients`, each validated (defaults filled). */
export function withClients(config: DeploymentConfig, clients: readonly SandboxClientInput[]): SandboxConfig {
  return { ...config, clients: clients.map((client) => SandboxClientSchema.parse(client) as SandboxClient) };
}

/** The sample deployment config with the sandbox's clients: what `npm start` runs. */
export function sampleSandboxConfig(configPath: string = SAMPLE_CONFIG_PATH): SandboxConfig {
  const clients = JSON.parse(readFileSync(SANDBOX_CLIENTS_PATH, 'utf8')) as SandboxClientInput[];
  return withClients(loadDeploymentConfig(configPath), clients);
}

/** The deployment config alone, as `cdk synth` takes it. */
export function deploymentConfigOf(config: SandboxConfig): DeploymentConfig {
  const { clients: _clients, ...deployment } = config;
  return deployment;
}
