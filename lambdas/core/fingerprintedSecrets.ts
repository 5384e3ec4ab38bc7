import type { StepLogger } from './deps.js';
import type {
  FingerprintEntry,
  FingerprintIndexPort,
  FingerprintPort,
  FingerprintStage,
} from './fingerprint.js';
import type { ClientRef, Clock, ManagedSecretValue, SecretStorePort } from './ports.js';
import type { Secret } from './secret.js';

/** What {@link fingerprintedSecrets} needs besides the store it wraps. */
export interface FingerprintedSecretsDeps {
  readonly fingerprints: FingerprintPort;
  readonly index: FingerprintIndexPort;
  readonly clock: Clock;
  readonly logger: StepLogger;
}

/**
 * Wraps a secret store so that every secret the rotator stores, promotes or drops has its
 * fingerprint in the ledger with what it is now (`pending`, `current`, `previous`, `cancelled`).
 * A leak report names a secret by fingerprint; this index is how it finds the client (the stage is
 * what the entry says; whether the secret is alive, the leak intake asks the store's labels). A
 * current secret enrolled from outside is indexed when its first rotation takes the lock.
 *
 * The index follows the store: each change is made in the store first, so an entry never claims
 * a stage its secret has not reached. A failed index write fails the step (it is retried). A
 * caller that writes the entries of a change itself, with its own ledger write
 * (`indexedByCaller`: StartRotation and CompleteRotation, with the rotation record), gets the
 * change alone; it computes the entries with {@link fingerprintEntry}.
 */
export function fingerprintedSecrets(
  store: SecretStorePort,
  deps: FingerprintedSecretsDeps,
): SecretStorePort {
  const index = (client: ClientRef, value: ManagedSecretValue, versionId: string, stage: FingerprintStage) =>
    indexVersion(deps, client, value, versionId, stage);

  return {
    secretIdOf: (client) => store.secretIdOf(client),
    versions: (client) => store.versions(client),
    read: (client, stage) => store.read(client, stage),
    putPending: async (client, versionId, value, options) => {
      await store.putPending(client, versionId, value, options);
      if (options?.indexedByCaller !== true) await index(client, value, versionId, 'pending');
    },
    promotePending: async (client, versionId, known, options) => {
      if (options?.indexedByCaller === true) {
        await store.promotePending(client, versionId, known);
        return;
      }
      const before = known ?? (await store.versions(client));
      const previous = before.currentVersionId === versionId ? null : await store.read(client, 'AWSCURRENT');
      const next = before.pendingVersionId === versionId ? await store.read(client, 'AWSPENDING') : null;
      await store.promotePending(client, versionId, before);
      if (next !== null) await index(client, next, versionId, 'current');
      if (previous !== null && before.currentVersionId !== null) {
        await index(client, previous, before.currentVersionId, 'previous');
      }
    },
    removePending: async (client, versionId) => {
      const before = await store.versions(client);
      const dropped = before.pendingVersionId === versionId ? await store.read(client, 'AWSPENDING') : null;
      await store.removePending(client, versionId);
      if (dropped !== null) await index(client, dropped, versionId, 'cancelled');
    },
  };
}

/** The index entry of `secret` (version `versionId` of `client`), now at `stage`. */
export async function fingerprintEntry(
  fingerprints: FingerprintPort,
  client: ClientRef,
  secret: Secret,
  versionId: string,
  stage: FingerprintStage,
  at: Date,
): Promise<FingerprintEntry> {
  return {
    fingerprint: await fingerprints.fingerprint(secret),
    clientId: client.clientId,
    clientKind: client.kind,
    stage,
    versionId,
    lastFour: secret.lastFour,
    updatedAt: at.toISOString(),
  };
}

/** Writes the index entry of `value` (version `versionId` of `client`), now at `stage`. */
async function indexVersion(
  deps: FingerprintedSecretsDeps,
  client: ClientRef,
  value: ManagedSecretValue,
  versionId: string,
  stage: FingerprintStage,
): Promise<void> {
  await deps.index.putFingerprint(
    await fingerprintEntry(deps.fingerprints, client, value.clientSecret, versionId, stage, deps.clock.now()),
  );
}
