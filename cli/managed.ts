import type { AwsClients } from '#adapters/aws/awsClients.js';
import { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { CliError } from './errors.js';

/**
 * Refuses, as a one-line user error, a client the deployment does not manage, before a command
 * acts on it (an execution that can only end in InvalidRequest, a leak report the intake drops).
 *
 * The workflow's directory is the deployment config, then the ledger's registry. The CLI cannot
 * read the config (it is in the functions' environment), but every client the directory can name
 * has its secret `<prefix>/<clientId>`: the stack creates one per configured client, `register`
 * one per registered client before it records it. So no such secret means not managed. The check
 * never refuses a client the workflow would take; a secret made by hand under the prefix, or one a
 * stopped `register` left, still passes it, and the workflow refuses that (InvalidRequest, exit 1).
 */
export async function assertManaged(
  aws: Pick<AwsClients, 'secretsManager'>,
  options: { readonly clientId: string; readonly prefix: string },
): Promise<void> {
  const store = new SecretsManagerStore({ client: aws.secretsManager, prefix: options.prefix });
  // The kind does not matter to the secret's name; m2m is as good as connected_app here.
  const client = { clientId: options.clientId, kind: 'm2m' } as const;
  if (await store.exists(client)) return;
  throw new CliError(
    `${options.clientId} is not managed by this deployment (no secret ${store.secretIdOf(client)}): check the client id, ` +
      'or list it in the deployment config, or create it with rotator register',
    { code: 'unmanaged_client' },
  );
}
