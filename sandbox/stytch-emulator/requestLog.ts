import type { FaultKind } from './faults.js';
import type { RouteId } from './routeIds.js';

/**
 * One request as the emulator saw it. Deliberately holds no body, header value, query string,
 * secret or token: only what a test needs to assert on traffic (route, status, fault, client).
 */
export interface LoggedRequest {
  /** 1, 2, 3… in arrival order; keeps counting across {@link RequestLog.clear}. */
  readonly seq: number;
  /** Arrival time on the emulator clock, ISO 8601. */
  readonly at: string;
  readonly method: string;
  /** The path without query string (it may hold a client_id or project_id, which are not secret). */
  readonly path: string;
  /** The matched route, or null for an unknown route or wrong method. */
  readonly route: RouteId | null;
  /** The HTTP status sent, or 0 when the response was dropped. */
  readonly status: number;
  readonly durationMs: number;
  /** The error_type (or OAuth `error`) of an error answer. */
  readonly errorType?: string;
  /** The fault that shaped this request, if any (the strongest one when several applied). */
  readonly fault?: FaultKind;
  /** The client the request was about (from the path, the token request, or the created client). */
  readonly clientId?: string;
}

/** Older entries are dropped past this many, so a long sandbox run cannot grow without bound. */
const MAX_ENTRIES = 10_000;

/** The emulator's request log: an append-only list with a cap. */
export class RequestLog {
  #entries: LoggedRequest[] = [];
  #seq = 0;

  /** The sequence number for the next request (assigned on arrival, so order is arrival order). */
  public nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  public append(entry: LoggedRequest): void {
    this.#entries.push(Object.freeze({ ...entry }));
    if (this.#entries.length > MAX_ENTRIES) this.#entries.splice(0, this.#entries.length - MAX_ENTRIES);
  }

  /** A copy, oldest first, sorted by seq (responses may finish out of arrival order). */
  public entries(): readonly LoggedRequest[] {
    return [...this.#entries].sort((a, b) => a.seq - b.seq);
  }

  public clear(): void {
    this.#entries = [];
  }
}
