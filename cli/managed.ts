import { DescribeSecretCommand, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { CliError } from './errors.js';
import type { AwsClients } from './resources.js';

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
  const secretId = `${options.prefix}/${options.clientId}`;
  try {
    await aws.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    throw new CliError(
      `${options.clientId} is not managed by this deployment (no secret ${secretId}): check the client id, ` +
        'or list it in the deployment config, or create it with rotator register',
      { code: 'unmanaged_client', cause: error },
    );
  }
}
