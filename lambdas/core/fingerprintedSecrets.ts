import type { StepLogger } from './deps.js';
import type { FingerprintIndexPort, FingerprintPort, FingerprintStage } from './fingerprint.js';
import type { ClientRef, Clock, ManagedSecretValue, SecretStorePort, VersionStage } from './ports.js';

/** What {@link fingerprintedSecrets} needs besides the store it wraps. */
export interface FingerprintedSecretsDeps {
  readonly fingerprints: FingerprintPort;
  readonly index: FingerprintIndexPort;
  readonly clock: Clock;
  readonly logger: StepLogger;
}

/**
 * Wraps a secret store so that every secret the rotator stores, promotes or drops has its
 * fingerprint in the ledger with what it is now (`pending`, `current`, `previous`, `cancelled`),
 * and every current secret it reads is indexed too (a client enrolled before fingerprints
 * existed gets its entry at its first rotation). A leak report names a secret by fingerprint; this
 * index is how it finds the client, and whether the leaked secret is still alive.
 *
 * The index follows the store: each change is made in the store first, so an entry never claims
 * a stage its secret has not reached. A failed index write fails the step (it is retried).
 */
export function fingerprintedSecrets(
  store: SecretStorePort,
  deps: FingerprintedSecretsDeps,
): SecretStorePort {
  const index = async (
    client: ClientRef,
    value: ManagedSecretValue,
    versionId: string,
    stage: FingerprintStage,
  ): Promise<void> => {
    await deps.index.putFingerprint({
      fingerprint: await deps.fingerprints.fingerprint(value.clientSecret),
      clientId: client.clientId,
      clientKind: client.kind,
      stage,
      versionId,
      lastFour: value.clientSecret.lastFour,
      updatedAt: deps.clock.now().toISOString(),
    });
  };

  return {
    secretIdOf: (client) => store.secretIdOf(client),
    versions: (client) => store.versions(client),
    read: async (client: ClientRef, stage: VersionStage) => {
      const value = await store.read(client, stage);
      if (value !== null && stage === 'AWSCURRENT') {
        const { currentVersionId } = await store.versions(client);
        if (currentVersionId !== null) await index(client, value, currentVersionId, 'current');
      }
      return value;
    },
    putPending: async (client, versionId, value) => {
      await store.putPending(client, versionId, value);
      await index(client, value, versionId, 'pending');
    },
    promotePending: async (client, versionId) => {
      const before = await store.versions(client);
      const previous = before.currentVersionId === versionId ? null : await store.read(client, 'AWSCURRENT');
      const next = before.pendingVersionId === versionId ? await store.read(client, 'AWSPENDING') : null;
      await store.promotePending(client, versionId);
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
