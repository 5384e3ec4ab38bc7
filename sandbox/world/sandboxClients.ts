/**
 * The sandbox's managed clients: the config's clients registered at Stytch, enrolled in Secrets
 * Manager and indexed by fingerprint, as `rotator register` does, so a leak report finds a client
 * from its first minute.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import type { StytchClient } from '#adapters/stytch/index.js';
import { fingerprintOf } from '#core/fingerprint.js';
import { fingerprintEntry } from '#core/fingerprintedSecrets.js';
import type { Secret } from '#core/secret.js';
import type { DeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import { type ExternalStytch, enrolClient, registerClient } from './worldResources.js';

/** What {@link enrolSandboxClients} works with. */
export interface SandboxEnrolment {
  readonly stytch: ExternalStytch;
  readonly stytchClient: StytchClient;
  readonly secretsManager: SecretsManagerClient;
  /** The ledger's table, straight at moto. */
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly fingerprintKey: Secret;
  /** Appended to every M2M client id (runs against a long-lived Stytch project do not collide). */
  readonly clientIdSuffix?: string;
  /** Every client secret is appended (for the leak scan). */
  readonly secrets: Secret[];
  readonly say: (line: string) => void;
}

/** Registers and enrols every client of `config`; returns config client id → registered id. */
export async function enrolSandboxClients(
  config: DeploymentConfig,
  enrolment: SandboxEnrolment,
): Promise<Map<string, string>> {
  const clientIdMap = new Map<string, string>();
  const ledger = new DynamoLedger({ client: enrolment.documents, tableName: enrolment.tableName });
  const fingerprints = {
    fingerprint: async (secret: Secret | string) => fingerprintOf(enrolment.fingerprintKey, secret),
  };
  for (const client of config.clients) {
    const registered = await registerClient(enrolment.stytch, enrolment.stytchClient, {
      kind: client.kind,
      clientId: `${client.clientId}${enrolment.clientIdSuffix ?? ''}`,
      clientName: client.clientId,
      scopes: ['read:demo', 'write:demo'],
    });
    enrolment.secrets.push(registered.clientSecret);
    clientIdMap.set(client.clientId, registered.clientId);
    const enrolled = await enrolClient(
      enrolment.secretsManager,
      config.secretPrefix,
      enrolment.stytch,
      registered,
    );
    const ref = { clientId: registered.clientId, kind: client.kind };
    await ledger.putFingerprint(
      await fingerprintEntry(
        fingerprints,
        ref,
        registered.clientSecret,
        enrolled.versionId,
        'current',
        new Date(),
      ),
    );
    enrolment.say(
      `registered ${client.kind} client ${registered.clientId}` +
        (registered.clientId === client.clientId ? '' : ` (config id ${client.clientId})`) +
        `, secret …${registered.clientSecret.lastFour}`,
    );
  }
  return clientIdMap;
}
