/**
 * The sandbox's managed clients: the world's clients registered at Stytch, enrolled in Secrets
 * Manager, indexed by fingerprint and recorded in the registry, as `rotator apply` does, so the
 * functions know them and a leak report finds a client from its first minute.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import type { StytchClient } from '#adapters/stytch/index.js';
import { fingerprintOf } from '#core/fingerprint.js';
import { fingerprintEntry } from '#core/fingerprintedSecrets.js';
import { rotationScheduleName } from '#core/registry.js';
import type { Secret } from '#core/secret.js';
import type { SandboxClient, SandboxConfig } from './sandboxConfig.js';

import { type ExternalStytch, enrolClient, registerClient } from './worldResources.js';

/** The scopes of the sandbox's M2M clients (the demo API checks `read:demo`). */
const SANDBOX_SCOPES = ['read:demo', 'write:demo'] as const;

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
  config: SandboxConfig,
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
      scopes: [...SANDBOX_SCOPES],
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
    await recordRegistration(ledger, config.secretPrefix, { ...client, clientId: registered.clientId });
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

/**
 * Records `client` (its registered id) in the registry: what the functions read to know a client,
 * its kind and its policy.
 */
export async function recordRegistration(
  ledger: Pick<DynamoLedger, 'replaceRegistration'>,
  secretPrefix: string,
  client: SandboxClient,
): Promise<void> {
  const { expectedConsumers, ...overrides } = client.policy;
  const now = new Date().toISOString();
  await ledger.replaceRegistration({
    clientId: client.clientId,
    clientKind: client.kind,
    name: client.clientId,
    scopes: client.kind === 'm2m' ? [...SANDBOX_SCOPES] : [],
    expectedConsumers: [...expectedConsumers],
    ...(Object.keys(overrides).length === 0 ? {} : { policy: client.policy }),
    ...(client.schedule === undefined
      ? {}
      : { schedule: { ...client.schedule, scheduleName: rotationScheduleName(client.clientId) } }),
    secretId: `${secretPrefix}/${client.clientId}`,
    registeredAt: now,
    registeredBy: 'sandbox',
    // One by one, as `rotator register` does: an operator's `apply --prune` of a clients file
    // that does not list them leaves them alone (the demo's consumers use them).
    registrar: 'register',
  });
}
