import { RevocationsDocumentError, RevocationsStaleError, VerifierError } from './errors.js';
import {
  MAX_DOCUMENT_BYTES,
  parseRevocationDocument,
  parseRevocationRecord,
  type RevocationRecord,
  type RevocationSnapshot,
} from './revocationDocument.js';

/** One answer of the document's store: 200 with a body, or 304 when `etag` still matches. */
export interface FetchedDocument {
  readonly status: number;
  readonly etag?: string | undefined;
  readonly body?: string | undefined;
}

/**
 * Reads the revocation document; `previous.etag` is the ETag of the copy held, for a conditional
 * read (answer 304 when it still matches). Throw, or answer another status, when it cannot be read.
 */
export type FetchDocument = (previous: { readonly etag: string | undefined }) => Promise<FetchedDocument>;

/** What the verifier knows of the revocation document, for health checks and dashboards. */
export interface RevocationStatus {
  /** When the document was last read successfully (a 200 that parsed, or a 304). */
  readonly lastGoodAt: Date | undefined;
  /** The `updatedAt` of the copy held. */
  readonly documentUpdatedAt: Date | undefined;
  readonly etag: string | undefined;
  /** Clients with a cutoff, from the document and from events applied since. */
  readonly revokedClients: number;
  /** Older than `maxStalenessMs`, or never read. */
  readonly stale: boolean;
  /** The last failed read, cleared by a successful one. */
  readonly lastError: VerifierError | undefined;
}

export interface RevocationListOptions {
  readonly fetchDocument: FetchDocument;
  readonly refreshIntervalMs: number;
  readonly maxStalenessMs: number;
  readonly now: () => number;
  readonly onError: (error: VerifierError) => void;
}

interface EventCutoff {
  readonly cutoffMs: number;
  readonly expiresAtMs: number;
}

/**
 * The revocation records a verifier applies: the last good copy of the document (polled with a
 * conditional read) merged with the records of events applied since, which are kept until they
 * expire so that a poll answering an older copy (a cache, a 304) cannot undo an event.
 */
export class RevocationList {
  readonly #options: RevocationListOptions;
  #snapshot: RevocationSnapshot | undefined;
  #etag: string | undefined;
  #lastGoodAt: number | undefined;
  #lastError: VerifierError | undefined;
  readonly #events = new Map<string, EventCutoff>();
  #inflight: Promise<void> | undefined;
  #firstRead: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Whether the current stale period was reported already (once per period, not once per request). */
  #staleReported = false;

  public constructor(options: RevocationListOptions) {
    this.#options = {
      ...options,
      // A throwing callback must not become an unhandled rejection of the polling timer.
      onError: (error) => {
        try {
          options.onError(error);
        } catch {
          // The error stays visible through status().
        }
      },
    };
  }

  /** Reads the document now and then every `refreshIntervalMs`; the timer does not keep the process alive. */
  public start(): void {
    if (this.#timer !== undefined) return;
    this.#firstRead = this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#options.refreshIntervalMs);
    this.#timer.unref();
  }

  public close(): void {
    clearInterval(this.#timer);
  }

  /** Resolves once the first read has ended, well or not (a verify does not race the first poll). */
  public firstRead(): Promise<void> {
    return this.#firstRead ?? Promise.resolve();
  }

  /** Reads the document now (a read already under way is shared); never rejects: failures go to `onError`. */
  public refresh(): Promise<void> {
    this.#inflight ??= this.#read().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Merges one record (a `Client Tokens Revoked` event's detail) at once. */
  public applyEvent(detail: unknown): RevocationRecord {
    let record: RevocationRecord;
    try {
      record = parseRevocationRecord(detail);
    } catch (error) {
      throw new RevocationsDocumentError('malformed', 'the event detail is not a revocation record', {
        cause: error,
      });
    }
    const cutoffMs = Date.parse(record.cutoff);
    const current = this.#events.get(record.clientId);
    if (current === undefined || cutoffMs > current.cutoffMs) {
      this.#events.set(record.clientId, { cutoffMs, expiresAtMs: Date.parse(record.expiresAt) });
    }
    return record;
  }

  /** The cutoff (ms) of a client: the later of the document's and an applied event's. */
  public cutoffFor(clientId: string): number | undefined {
    const fromDocument = this.#snapshot?.cutoffs.get(clientId);
    const event = this.#events.get(clientId);
    if (event !== undefined && event.expiresAtMs <= this.#options.now()) {
      // Every token the record covered has expired: it no longer changes any answer.
      this.#events.delete(clientId);
      return fromDocument;
    }
    if (event === undefined) return fromDocument;
    return fromDocument === undefined ? event.cutoffMs : Math.max(fromDocument, event.cutoffMs);
  }

  public isStale(): boolean {
    const stale =
      this.#lastGoodAt === undefined || this.#options.now() - this.#lastGoodAt > this.#options.maxStalenessMs;
    if (stale && !this.#staleReported) {
      this.#staleReported = true;
      this.#options.onError(this.staleError());
    }
    return stale;
  }

  public staleError(): RevocationsStaleError {
    return new RevocationsStaleError(
      this.#lastGoodAt === undefined ? undefined : new Date(this.#lastGoodAt),
      this.#options.maxStalenessMs,
      this.#lastError === undefined ? {} : { cause: this.#lastError },
    );
  }

  public status(): RevocationStatus {
    const clients = new Set([...(this.#snapshot?.cutoffs.keys() ?? []), ...this.#events.keys()]);
    return {
      lastGoodAt: this.#lastGoodAt === undefined ? undefined : new Date(this.#lastGoodAt),
      documentUpdatedAt: this.#snapshot?.updatedAt,
      etag: this.#etag,
      revokedClients: clients.size,
      stale:
        this.#lastGoodAt === undefined ||
        this.#options.now() - this.#lastGoodAt > this.#options.maxStalenessMs,
      lastError: this.#lastError,
    };
  }

  async #read(): Promise<void> {
    try {
      const answer = await this.#options.fetchDocument({
        etag: this.#snapshot === undefined ? undefined : this.#etag,
      });
      this.#accept(answer);
    } catch (error) {
      const failure =
        error instanceof VerifierError
          ? error
          : new RevocationsDocumentError('unreachable', errorName(error), { cause: error });
      this.#lastError = failure;
      this.#options.onError(failure);
      this.isStale();
    }
  }

  #accept(answer: FetchedDocument): void {
    if (answer.status === 304 && this.#snapshot !== undefined) {
      this.#good();
      return;
    }
    if (answer.status !== 200) throw new RevocationsDocumentError('http_status', `HTTP ${answer.status}`);
    const parsed = parseRevocationDocument(answer.body ?? '');
    if (!parsed.ok) throw new RevocationsDocumentError(parsed.reason, parsed.detail);
    this.#snapshot = parsed.snapshot;
    this.#etag = answer.etag;
    this.#good();
  }

  #good(): void {
    this.#lastGoodAt = this.#options.now();
    this.#lastError = undefined;
    this.#staleReported = false;
  }
}

/**
 * A {@link FetchDocument} over HTTP(S): a GET with `If-None-Match`, a timeout, and a body read no
 * further than {@link MAX_DOCUMENT_BYTES} (a huge answer is refused without being held).
 */
export function httpDocumentFetcher(url: string, fetchImpl: typeof fetch, timeoutMs: number): FetchDocument {
  return async ({ etag }) => {
    const response = await fetchImpl(url, {
      headers: etag === undefined ? {} : { 'if-none-match': etag },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const responseEtag = response.headers.get('etag') ?? undefined;
    if (response.status !== 200) {
      await response.body?.cancel();
      return { status: response.status, etag: responseEtag };
    }
    return { status: 200, etag: responseEtag, body: await readBounded(response) };
  };
}

async function readBounded(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_DOCUMENT_BYTES) {
    await response.body?.cancel();
    throw new RevocationsDocumentError('too_large', `${declared} bytes, over ${MAX_DOCUMENT_BYTES}`);
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_DOCUMENT_BYTES) {
      await response.body.cancel().catch(() => undefined);
      throw new RevocationsDocumentError('too_large', `more than ${MAX_DOCUMENT_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A foreign error's name only: its message may quote a URL with a presigned query string. */
function errorName(error: unknown): string {
  if (error instanceof Error) {
    const name = error.cause instanceof Error ? `${error.name} (${error.cause.name})` : error.name;
    return name.replace(/[^A-Za-z0-9 ()._-]/g, '').slice(0, 120);
  }
  return 'a non-Error value was thrown';
}
