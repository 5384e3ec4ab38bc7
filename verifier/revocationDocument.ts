import { z } from 'zod';

/** The largest revocation document accepted, in bytes (the contract's limit; docs/token-revocation.md). */
export const MAX_DOCUMENT_BYTES = 256 * 1024;

// Bounds on what an outsider (whoever can write the bucket, or a proxy in between) can make us hold.
const MAX_ID_LENGTH = 256;
const isoInstant = z.iso.datetime();

/**
 * One record of the contract. `reason` is kept as any short string (a later writer may add a reason;
 * the rule does not depend on it); `clientId` and `cutoff` are what the rule needs, checked strictly.
 */
const RecordSchema = z.object({
  clientId: z.string().min(1).max(MAX_ID_LENGTH),
  cutoff: isoInstant,
  expiresAt: isoInstant,
  rotationId: z.string().max(MAX_ID_LENGTH).nullable(),
  reason: z.string().max(64),
});

const DocumentSchema = z.object({
  schemaVersion: z.literal(1),
  updatedAt: isoInstant,
  revocations: z.array(RecordSchema),
});

/** A revocation record as the event `Client Tokens Revoked` carries it and the document lists it. */
export type RevocationRecord = z.infer<typeof RecordSchema>;

/** What the verifier keeps of a document: the cutoff per client, in ms. */
export interface RevocationSnapshot {
  readonly updatedAt: Date;
  readonly cutoffs: ReadonlyMap<string, number>;
}

export type ParseResult =
  | { readonly ok: true; readonly snapshot: RevocationSnapshot }
  | { readonly ok: false; readonly reason: 'too_large' | 'malformed'; readonly detail: string };

/**
 * Parses a revocation document. Refuses one over {@link MAX_DOCUMENT_BYTES}, one that is not JSON and
 * one that does not match schema version 1 (a document the verifier does not understand must not be
 * read as "nothing is revoked"). Two records for one client keep the later cutoff, the safe side.
 */
export function parseRevocationDocument(body: string): ParseResult {
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_DOCUMENT_BYTES) {
    return { ok: false, reason: 'too_large', detail: `${bytes} bytes, over ${MAX_DOCUMENT_BYTES}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'malformed', detail: 'not JSON' };
  }
  const parsed = DocumentSchema.safeParse(json);
  if (!parsed.success) {
    // Paths and codes only: the values are the writer's (or an attacker's) text.
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`);
    return {
      ok: false,
      reason: 'malformed',
      detail: `not a schemaVersion 1 document (${issues.join('; ')})`,
    };
  }
  const cutoffs = new Map<string, number>();
  for (const record of parsed.data.revocations)
    mergeCutoff(cutoffs, record.clientId, Date.parse(record.cutoff));
  return { ok: true, snapshot: { updatedAt: new Date(parsed.data.updatedAt), cutoffs } };
}

/** Parses the detail of a `Client Tokens Revoked` event (one record); throws a zod error when it is not one. */
export function parseRevocationRecord(detail: unknown): RevocationRecord {
  return RecordSchema.parse(detail);
}

/** Keeps the later of two cutoffs: a revocation only ever moves forward. */
function mergeCutoff(cutoffs: Map<string, number>, clientId: string, cutoffMs: number): void {
  const current = cutoffs.get(clientId);
  if (current === undefined || cutoffMs > current) cutoffs.set(clientId, cutoffMs);
}
