import * as z from 'zod';
import { RotatorError } from './errors.js';
import { ClientIdSchema, RotationIdSchema, TimestampSchema } from './model.js';

/**
 * The token revocation record (issue 16): Stytch cannot revoke an M2M access token (a JWT
 * verified locally, one hour of life), so the rotator tells resource servers which tokens to
 * refuse instead. One JSON document for the whole deployment holds at most one record per client;
 * a resource server refuses a token whose `sub` has a record and whose `iat * 1000 <
 * Date.parse(cutoff)`. The contract is docs/token-revocation.md; this module decides everything
 * about a record and the document, the adapters only read and write the bytes.
 */

/** The S3 object key of the document. */
export const REVOCATION_DOCUMENT_KEY = 'token-revocations.json';
/** The only `schemaVersion` this code writes and reads. */
export const REVOCATION_SCHEMA_VERSION = 1;
/** The longest lifetime of a Stytch M2M access token: a record covers no token past cutoff + this. */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;
/** Clock skew a resource server may allow on `exp`: a record outlives its last token by this much. */
export const REVOCATION_SKEW_SECONDS = 60;
/** The most the document may weigh; readers refuse a larger one. */
export const MAX_REVOCATION_DOCUMENT_BYTES = 256 * 1024;

/** Why a record exists: a completed leak rotation, or an operator's request. */
export const REVOCATION_REASONS = ['leak_rotation', 'operator'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** An ISO-8601 UTC timestamp on a whole second (`…T12:00:05.000Z` or `…T12:00:05Z`). */
const WholeSecondSchema = TimestampSchema.refine((value) => Date.parse(value) % 1000 === 0, {
  message: 'must be a whole second',
});

/** One record: the five fields of the contract, nothing else. */
export const RevocationRecordSchema = z.strictObject({
  clientId: ClientIdSchema,
  /** Tokens of `clientId` issued before this instant are refused. */
  cutoff: WholeSecondSchema,
  /** After this instant every token the record covers has expired: the record is dropped. */
  expiresAt: TimestampSchema,
  /** The leak rotation that killed the secret; null for an operator's request. */
  rotationId: RotationIdSchema.nullable(),
  reason: z.enum(REVOCATION_REASONS),
});
export type RevocationRecord = z.infer<typeof RevocationRecordSchema>;

/**
 * The whole document, strict: a reader refuses anything else (and keeps its last good copy); a
 * change of shape is a new `schemaVersion`.
 */
export const RevocationDocumentSchema = z.strictObject({
  schemaVersion: z.literal(REVOCATION_SCHEMA_VERSION),
  updatedAt: TimestampSchema,
  revocations: z.array(RevocationRecordSchema),
});
export type RevocationDocument = z.infer<typeof RevocationDocumentSchema>;

/** The document would exceed {@link MAX_REVOCATION_DOCUMENT_BYTES}. Permanent: no retry shrinks it. */
export class RevocationDocumentTooLargeError extends RotatorError {
  public readonly bytes: number;

  public constructor(bytes: number) {
    super(
      `The token revocation document would be ${bytes} bytes, over the ${MAX_REVOCATION_DOCUMENT_BYTES} ` +
        'a resource server accepts; no record was dropped to make room',
    );
    this.name = 'RevocationDocumentTooLargeError';
    this.bytes = bytes;
  }
}

/** The stored document is not one this code wrote (size, JSON or schema). Permanent. */
export class RevocationDocumentFormatError extends RotatorError {
  public readonly issues: readonly string[];

  public constructor(issues: readonly string[]) {
    super(`The token revocation document is malformed: ${issues.join('; ')}`);
    this.name = 'RevocationDocumentFormatError';
    this.issues = issues;
  }
}

/**
 * Another writer changed the document between each read and conditional write, every attempt.
 * Retryable: the next invocation reads again.
 */
export class RevocationWriteContendedError extends RotatorError {
  public constructor(attempts: number) {
    super(`The token revocation document changed under every one of ${attempts} conditional writes`, {
      retryable: true,
    });
    this.name = 'RevocationWriteContendedError';
  }
}

/** What a record is made from. */
export interface RevocationInput {
  readonly clientId: string;
  /** The moment the secret died (a leak rotation's completion) or the operator's `--before`. */
  readonly before: Date;
  readonly rotationId: string | null;
  readonly reason: RevocationReason;
}

/**
 * The record for `input`: `cutoff` is `before` rounded UP to the next whole second (a token's
 * `iat` is in whole seconds, floored: every token minted before `before` has `iat * 1000 <
 * cutoff`), `expiresAt` is cutoff + the longest token lifetime + the skew.
 */
export function revocationFor(input: RevocationInput): RevocationRecord {
  const cutoffMs = Math.ceil(input.before.getTime() / 1000) * 1000;
  return {
    clientId: input.clientId,
    cutoff: new Date(cutoffMs).toISOString(),
    expiresAt: new Date(
      cutoffMs + (MAX_TOKEN_LIFETIME_SECONDS + REVOCATION_SKEW_SECONDS) * 1000,
    ).toISOString(),
    rotationId: input.rotationId,
    reason: input.reason,
  };
}

/**
 * The records of the next document: `existing` and `incoming` merged to one per client, the one
 * with the later cutoff winning whole (a cutoff moves forward, never back: an earlier one covers
 * fewer tokens), records expired at `now` dropped, sorted by client id (a stable document: an
 * unchanged set writes the same bytes).
 */
export function mergeRevocations(
  existing: readonly RevocationRecord[],
  incoming: readonly RevocationRecord[],
  now: Date,
): RevocationRecord[] {
  const byClient = new Map<string, RevocationRecord>();
  for (const record of [...existing, ...incoming]) {
    const held = byClient.get(record.clientId);
    if (held === undefined || Date.parse(record.cutoff) > Date.parse(held.cutoff)) {
      byClient.set(record.clientId, record);
    }
  }
  return [...byClient.values()]
    .filter((record) => Date.parse(record.expiresAt) > now.getTime())
    .sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
}

/**
 * The document's bytes for `records` at `now`.
 * @throws {RevocationDocumentTooLargeError} past {@link MAX_REVOCATION_DOCUMENT_BYTES}
 */
export function serializeRevocationDocument(records: readonly RevocationRecord[], now: Date): string {
  const document: RevocationDocument = {
    schemaVersion: REVOCATION_SCHEMA_VERSION,
    updatedAt: now.toISOString(),
    revocations: [...records],
  };
  const text = JSON.stringify(document);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_REVOCATION_DOCUMENT_BYTES) throw new RevocationDocumentTooLargeError(bytes);
  return text;
}

/**
 * The document in `text`.
 * @throws {RevocationDocumentFormatError} when it is too large, not JSON or not the schema (issues
 * name paths and codes, never values)
 */
export function parseRevocationDocument(text: string): RevocationDocument {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_REVOCATION_DOCUMENT_BYTES) {
    throw new RevocationDocumentFormatError([`${bytes} bytes, over ${MAX_REVOCATION_DOCUMENT_BYTES}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RevocationDocumentFormatError(['not JSON']);
  }
  const parsed = RevocationDocumentSchema.safeParse(json);
  if (!parsed.success) {
    throw new RevocationDocumentFormatError(
      parsed.error.issues.slice(0, 10).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`),
    );
  }
  return parsed.data;
}

/** The stored document and the version it was read at. */
export interface StoredRevocations {
  /** Null when there is no document yet. */
  readonly document: RevocationDocument | null;
  /** The store's version of what was read (an S3 ETag); null when there is no document. */
  readonly version: string | null;
  /**
   * Set when the stored bytes are not a document (`document` is then null): why, as
   * {@link RevocationDocumentFormatError} issues.
   */
  readonly malformed?: readonly string[];
}

/** Where the document lives: read with its version, write only over the version read. */
export interface RevocationDocumentPort {
  read(): Promise<StoredRevocations>;
  /**
   * Writes `body` if the stored version is still `expectedVersion` (null: if there is still no
   * document). `'conflict'` when another writer got there first.
   */
  write(body: string, expectedVersion: string | null): Promise<'written' | 'conflict'>;
}

/** The `Client Tokens Revoked` event (its schema in events.ts is {@link RevocationRecordSchema}). */
export interface ClientTokensRevokedEvent {
  readonly detailType: 'Client Tokens Revoked';
  readonly detail: RevocationRecord;
}

/**
 * What {@link publishRevocation} uses. The ports are spelt out here rather than imported from
 * ports.ts/deps.ts: events.ts imports this module's schema, and ports.ts imports events.ts (an
 * EventBusPort and a StepLogger fit these as they are).
 */
export interface RevocationPublisherDeps {
  readonly document: RevocationDocumentPort;
  readonly events: { publish(event: ClientTokensRevokedEvent): Promise<unknown> };
  readonly clock: { now(): Date };
  /** Resolves after `ms` (publishing waits for a cutoff still ahead, and between contended writes). */
  readonly wait: (ms: number) => Promise<void>;
  /** A number in [0, 1) that spreads contended writers' retries. @default Math.random */
  readonly random?: () => number;
  readonly logger: {
    info(message: string, attributes?: Record<string, unknown>): void;
    warn(message: string, attributes?: Record<string, unknown>): void;
  };
}

/**
 * The longest a record waits for its cutoff: the cutoff is rounded up to the whole second and is
 * never later than the request, so it is at most a second ahead (plus the clocks' drift).
 */
export const MAX_CUTOFF_WAIT_MS = 2_000;

/**
 * How many read-merge-write rounds one invocation tries before it gives up (retryable). A leak of
 * many clients at once (`rotator emergency --all`) has as many publishers write the one document:
 * with five rounds and no pause between them, 66 of a thousand sandbox leak rotations lost every
 * round, three invocations running, and their tokens were never revoked.
 */
export const REVOCATION_WRITE_ATTEMPTS = 10;

/**
 * The wait after the n-th lost round is random in [0, min(cap, base × 2^(n-1))) ("full jitter"):
 * writers that lost together do not read and write together again. At most about 9 s in all.
 */
export const REVOCATION_RETRY_BASE_MS = 50;
export const REVOCATION_RETRY_CAP_MS = 2_000;

/**
 * Waits until `record.cutoff` has passed (at most {@link MAX_CUTOFF_WAIT_MS}), then
 * merges `record` into the document (read, merge, conditional write; again on a lost race), then
 * announces `Client Tokens Revoked` with the client's record as written: the record already held
 * when it has the later cutoff. Idempotent: a re-run writes the same record and announces it again.
 * @returns the client's record in the document
 */
export async function publishRevocation(
  deps: RevocationPublisherDeps,
  record: RevocationRecord,
): Promise<RevocationRecord> {
  // Published no earlier than its cutoff: whoever sees a token refused and mints a new one at once
  // gets a token issued at or after the cutoff, which the record does not cover.
  const ahead = Date.parse(record.cutoff) - deps.clock.now().getTime();
  if (ahead > 0) await deps.wait(Math.min(ahead, MAX_CUTOFF_WAIT_MS));
  for (let attempt = 1; attempt <= REVOCATION_WRITE_ATTEMPTS; attempt += 1) {
    const now = deps.clock.now();
    const stored = await deps.document.read();
    if (stored.malformed !== undefined) {
      // Not something this code wrote. Readers keep their last good copy and refuse it; left in
      // place it would block every revocation, so it is replaced (over its version, as any write).
      deps.logger.warn('Token revocation document is malformed; replacing it', {
        issues: stored.malformed,
        clientId: record.clientId,
      });
    }
    const records = mergeRevocations(stored.document?.revocations ?? [], [record], now);
    const written = records.find((held) => held.clientId === record.clientId);
    if (written === undefined) {
      // Already expired: it covers no live token, and the document stays as it is.
      deps.logger.info('Token revocation already expired; nothing to publish', {
        clientId: record.clientId,
        cutoff: record.cutoff,
      });
      return record;
    }
    const outcome = await deps.document.write(serializeRevocationDocument(records, now), stored.version);
    if (outcome === 'written') {
      await deps.events.publish({ detailType: 'Client Tokens Revoked', detail: written });
      deps.logger.info('Client tokens revoked', { ...written, records: records.length, attempt });
      return written;
    }
    deps.logger.warn('Token revocation document changed while writing; reading it again', {
      clientId: record.clientId,
      attempt,
    });
    if (attempt < REVOCATION_WRITE_ATTEMPTS) await deps.wait(contendedWriteWaitMs(attempt, deps.random));
  }
  throw new RevocationWriteContendedError(REVOCATION_WRITE_ATTEMPTS);
}

/** How long to wait after losing round `attempt` (1-based) of the document's write. */
export function contendedWriteWaitMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(REVOCATION_RETRY_CAP_MS, REVOCATION_RETRY_BASE_MS * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Writes the empty document when there is none (a new stack), so that a fail-closed reader has a
 * document before the first revocation. Conditional (`If-None-Match: *`): a document already there,
 * with live records, is kept.
 * @returns `written`, or `kept` when a document was there
 */
export async function initializeRevocationDocument(
  deps: Pick<RevocationPublisherDeps, 'document' | 'clock'>,
): Promise<'written' | 'kept'> {
  const outcome = await deps.document.write(serializeRevocationDocument([], deps.clock.now()), null);
  return outcome === 'written' ? 'written' : 'kept';
}
