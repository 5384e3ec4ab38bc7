import * as z from 'zod';
import {
  FINGERPRINT_STAGES,
  type FingerprintEntry,
  type FingerprintIndexPort,
  FingerprintSchema,
} from '#core/fingerprint.js';
import { ClientKindSchema } from '#core/model.js';
import {
  FINGERPRINT_PK_PREFIX,
  FINGERPRINT_SK,
  LedgerTable,
  type LedgerTableProps,
  parseItem,
} from './ledgerTable.js';

const FingerprintItemSchema = z.object({
  fingerprint: FingerprintSchema,
  clientId: z.string(),
  clientKind: ClientKindSchema,
  stage: z.enum(FINGERPRINT_STAGES),
  versionId: z.string(),
  lastFour: z.string(),
  updatedAt: z.string(),
});

/**
 * {@link FingerprintIndexPort} over the ledger table: one item per fingerprint of a managed secret,
 * `pk=FINGERPRINT#<hex>, sk=FINGERPRINT` (a client id never holds `#`, so it never meets a client's items).
 */
export class FingerprintIndex implements FingerprintIndexPort {
  readonly #table: LedgerTable;

  public constructor(props: LedgerTableProps) {
    this.#table = new LedgerTable(props);
  }

  /** One PutItem: the latest change of a secret wins (stored, promoted, cancelled). */
  public async putFingerprint(entry: FingerprintEntry): Promise<void> {
    await this.#table.put(fingerprintPut(entry));
  }

  public async findFingerprint(fingerprint: string): Promise<FingerprintEntry | null> {
    const pk = fingerprintPk(fingerprint);
    const item = await this.#table.get(pk, FINGERPRINT_SK);
    return item === undefined ? null : parseItem(FingerprintItemSchema, item, `${pk}/${FINGERPRINT_SK}`);
  }
}

/** The put of `entry`'s item (the latest change wins: no condition). Also a write of a transaction. */
export function fingerprintPut(entry: FingerprintEntry) {
  return { Item: { ...entry, pk: fingerprintPk(entry.fingerprint), sk: FINGERPRINT_SK } };
}

function fingerprintPk(fingerprint: string): string {
  return `${FINGERPRINT_PK_PREFIX}${fingerprint}`;
}
