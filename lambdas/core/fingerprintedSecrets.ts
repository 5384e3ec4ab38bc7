import type { StepLogger } from './deps.js';
import type {
  FingerprintEntry,
  FingerprintIndexPort,
  FingerprintPort,
  FingerprintStage,
} from './fingerprint.js';
import type { ClientRef, Clock, ManagedSecretValue, SecretStorePort, SecretVersions } from './ports.js';
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
 * A leak report names a secret by fingerprint; this index is how it finds the client, and whether
 * the leaked secret is still alive. (A current secret enrolled from outside is indexed by
 * {@link indexCurrent} when its first rotation takes the lock.)
 *
 * The index follows the store: each change is made in the store first, so an entry never claims
 * a stage its secret has not reached. A failed index write fails the step (it is retried).
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
    putPending: async (client, versionId, value) => {
      await store.putPending(client, versionId, value);
      await index(client, value, versionId, 'pending');
    },
    promotePending: async (client, versionId, known) => {
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

/**
 * Indexes the client's current secret. Only the holder of the client's lock calls it (the start
 * of a rotation): no promotion can move AWSCURRENT meanwhile, so the version and the value agree.
 */
export async function indexCurrent(
  deps: FingerprintedSecretsDeps & { readonly secrets: SecretStorePort },
  client: ClientRef,
  current: ManagedSecretValue,
): Promise<SecretVersions> {
  const versions = await deps.secrets.versions(client);
  const { currentVersionId } = versions;
  if (currentVersionId === null) return versions;
  await deps.index.putFingerprint(
    await fingerprintEntry(
      deps.fingerprints,
      client,
      current.clientSecret,
      currentVersionId,
      'current',
      deps.clock.now(),
    ),
  );
  return versions;
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

/**
 * Indexes a promotion that already happened: AWSCURRENT as `current`, AWSPREVIOUS as `previous`. A
 * step retried after it died between the label move and its index writes finds the labels moved
 * and does not promote again; without this, the index would keep calling the new current secret
 * `pending` until the next rotation. Only the lock holder calls it.
 */
export async function indexPromoted(
  deps: FingerprintedSecretsDeps & { readonly secrets: SecretStorePort },
  client: ClientRef,
): Promise<void> {
  const versions = await deps.secrets.versions(client);
  for (const [stage, versionId, label] of [
    ['current', versions.currentVersionId, 'AWSCURRENT'],
    ['previous', versions.previousVersionId, 'AWSPREVIOUS'],
  ] as const) {
    if (versionId === null) continue;
    const value = await deps.secrets.read(client, label);
    if (value !== null) await indexVersion(deps, client, value, versionId, stage);
  }
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
