import { ClientTable, type Page } from './clientTable.js';
import { ClientCredential, type RotationRefusal } from './credentials.js';
import { type ApiError, apiErrors } from './errors.js';
import type { IdGenerator } from './ids.js';
import { mergeMetadata, type TrustedMetadata } from './metadata.js';
import type { ModeSnapshot } from './modes.js';

/** `active` clients mint tokens; `inactive` ones are refused at the token endpoint. */
export type M2MClientStatus = 'active' | 'inactive';

/** One M2M client as stored. The secret lives in {@link ClientCredential} as digests only. */
export interface M2MClientRecord {
  readonly clientId: string;
  clientName: string;
  clientDescription: string;
  status: M2MClientStatus;
  scopes: readonly string[];
  trustedMetadata: TrustedMetadata;
  readonly credential: ClientCredential;
}

/** Validated create input. */
export interface M2MClientCreateInput {
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly clientName?: string;
  readonly clientDescription?: string;
  readonly scopes: readonly string[];
  readonly trustedMetadata?: TrustedMetadata;
}

/** Validated update input: only the given fields change. */
export interface M2MClientUpdateInput {
  readonly clientName?: string;
  readonly clientDescription?: string;
  readonly status?: M2MClientStatus;
  readonly scopes?: readonly string[];
  /** Merged at the top level; a null value deletes that key. */
  readonly trustedMetadata?: Readonly<Record<string, unknown>>;
}

/** When the token endpoint sees a rotation: the emulator clock and the delays in effect. */
export interface TokenConsistency {
  readonly now: () => number;
  readonly delay: () => ModeSnapshot['consistencyDelay'];
}

/** Every rotation is visible to the token endpoint at once (the default). */
const IMMEDIATE: TokenConsistency = {
  now: () => 0,
  delay: () => ({ startMs: 0, completeMs: 0, cancelMs: 0 }),
};

/**
 * The project's M2M clients and their rotation state. Every method validates before it changes
 * anything, so a refused call leaves the store as it was. Management reads see every change at
 * once; the token endpoint sees a rotation after the {@link TokenConsistency} delay.
 */
export class M2MClientStore {
  readonly #table = new ClientTable<M2MClientRecord>();
  readonly #ids: IdGenerator;
  readonly #consistency: TokenConsistency;

  public constructor(ids: IdGenerator, consistency: TokenConsistency = IMMEDIATE) {
    this.#ids = ids;
    this.#consistency = consistency;
  }

  /** Creates a client; the plaintext secret is returned for the create response only. */
  public create(input: M2MClientCreateInput): { record: M2MClientRecord; secret: string } {
    const clientId = input.clientId ?? this.#ids.m2mClientId();
    if (this.#table.has(clientId)) throw apiErrors.duplicateClientId();
    const { credential, secret } = ClientCredential.create(input.clientSecret);
    const record: M2MClientRecord = {
      clientId,
      clientName: input.clientName ?? '',
      clientDescription: input.clientDescription ?? '',
      status: 'active',
      scopes: [...input.scopes],
      trustedMetadata: { ...(input.trustedMetadata ?? {}) },
      credential,
    };
    this.#table.insert(record);
    return { record, secret };
  }

  /** The client, or a 404 `m2m_client_not_found`. */
  public get(clientId: string): M2MClientRecord {
    const record = this.#table.get(clientId);
    if (record === undefined) throw apiErrors.clientNotFound('m2m');
    return record;
  }

  /** The client if it exists (no error); used by the token endpoint. */
  public find(clientId: string): M2MClientRecord | undefined {
    return this.#table.get(clientId);
  }

  public update(clientId: string, input: M2MClientUpdateInput): M2MClientRecord {
    const record = this.get(clientId);
    // Merge first: it validates the result and may refuse, and nothing may change on refusal.
    const metadata =
      input.trustedMetadata === undefined
        ? record.trustedMetadata
        : mergeMetadata(record.trustedMetadata, input.trustedMetadata);
    if (input.clientName !== undefined) record.clientName = input.clientName;
    if (input.clientDescription !== undefined) record.clientDescription = input.clientDescription;
    if (input.status !== undefined) record.status = input.status;
    if (input.scopes !== undefined) record.scopes = [...input.scopes];
    record.trustedMetadata = metadata;
    return record;
  }

  public delete(clientId: string): void {
    if (!this.#table.delete(clientId)) throw apiErrors.clientNotFound('m2m');
  }

  public search(
    filter: (record: M2MClientRecord) => boolean,
    cursor: string | undefined,
    limit: number,
  ): Page<M2MClientRecord> {
    return this.#table.page(filter, cursor, limit);
  }

  public startRotation(clientId: string): { record: M2MClientRecord; nextSecret: string } {
    const record = this.get(clientId);
    const result = record.credential.startRotation(this.#visibleFrom('startMs'));
    if (!result.ok) throw refusalError(result.refusal);
    return { record, nextSecret: result.nextSecret };
  }

  public completeRotation(clientId: string): M2MClientRecord {
    const record = this.get(clientId);
    const result = record.credential.completeRotation(this.#visibleFrom('completeMs'));
    if (!result.ok) throw refusalError(result.refusal);
    return record;
  }

  public cancelRotation(clientId: string): M2MClientRecord {
    const record = this.get(clientId);
    const result = record.credential.cancelRotation(this.#visibleFrom('cancelMs'));
    if (!result.ok) throw refusalError(result.refusal);
    return record;
  }

  /** When the token endpoint sees a transition made now. */
  #visibleFrom(kind: keyof ModeSnapshot['consistencyDelay']): number {
    return this.#consistency.now() + this.#consistency.delay()[kind];
  }
}

function refusalError(refusal: RotationRefusal): ApiError {
  return refusal === 'already_rotating' ? apiErrors.alreadyRotating('m2m') : apiErrors.notRotating('m2m');
}

/** The M2M client as Stytch serialises it (`M2MClient`); every field always present. */
export function m2mClientJson(record: M2MClientRecord): Record<string, unknown> {
  return {
    client_id: record.clientId,
    client_name: record.clientName,
    client_description: record.clientDescription,
    status: record.status,
    scopes: [...record.scopes],
    client_secret_last_four: record.credential.lastFour,
    next_client_secret_last_four: record.credential.nextLastFour,
    trusted_metadata: structuredClone(record.trustedMetadata),
  };
}
