import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { lastFour } from '#core/secret.js';

/** A stored secret: its SHA-256 digest and last four characters, never the value. */
interface StoredSecret {
  readonly digest: Buffer;
  readonly lastFour: string;
}

function store(value: string): StoredSecret {
  return { digest: sha256(value), lastFour: lastFour(value) };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * A new client secret shaped like Stytch's: 33 random bytes as base64url, which is exactly 44
 * characters with no padding (the docs example `NHQh…DzJj` has that length and alphabet).
 */
export function generateClientSecret(): string {
  return randomBytes(33).toString('base64url');
}

/** Why a rotation transition was refused; the caller maps it to the client kind's error_type. */
export type RotationRefusal = 'already_rotating' | 'not_rotating';

/**
 * What the token endpoint accepts from `visibleFrom` (emulator clock, ms) on. With a consistency
 * delay the token endpoint lags the management API: it serves the newest view already visible.
 */
interface TokenView {
  readonly secrets: readonly StoredSecret[];
  readonly visibleFrom: number;
}

/**
 * The secret state of one client: the current secret and, while a rotation is pending, the next
 * one. Holds digests only; a plaintext leaves this class exactly once, as the return value of
 * {@link ClientCredential.create} or {@link ClientCredential.startRotation}.
 *
 * Management reads (`lastFour`, `nextLastFour`, `isRotating`) always show the latest state. The
 * token endpoint asks {@link ClientCredential.verify} with its clock: each transition may be
 * given a `visibleFrom` time, before which the token endpoint still answers from the state before
 * it. Views become visible in the order their transitions happened, as a replica applies a log.
 */
export class ClientCredential {
  #current: StoredSecret;
  #next: StoredSecret | null = null;
  /** Oldest first; the first is always visible. */
  #views: TokenView[];

  private constructor(current: StoredSecret) {
    this.#current = current;
    this.#views = [{ secrets: [current], visibleFrom: Number.NEGATIVE_INFINITY }];
  }

  /** A credential for `secret`, or a generated one; returns the plaintext for the create response. */
  public static create(secret?: string): { credential: ClientCredential; secret: string } {
    const value = secret ?? generateClientSecret();
    return { credential: new ClientCredential(store(value)), secret: value };
  }

  public get lastFour(): string {
    return this.#current.lastFour;
  }

  /** Last four of the pending secret, or null when no rotation is pending (Stytch emits `null`). */
  public get nextLastFour(): string | null {
    return this.#next?.lastFour ?? null;
  }

  public get isRotating(): boolean {
    return this.#next !== null;
  }

  /**
   * Whether `candidate` authenticates at the token endpoint at time `at` (default: the latest
   * state): the current or, during a rotation, the next secret of the view visible then. Every
   * digest of that view is compared, in constant time, so the answer's timing says nothing about
   * which one matched.
   */
  public verify(candidate: string, at = Number.POSITIVE_INFINITY): boolean {
    const digest = sha256(candidate);
    let matches = false;
    for (const secret of this.#viewAt(at).secrets) {
      // No short-circuit: compare every digest.
      matches = timingSafeEqual(digest, secret.digest) || matches;
    }
    return matches;
  }

  /**
   * Creates the next secret; both secrets authenticate until complete or cancel. The token
   * endpoint sees the next secret from `visibleFrom` on (default: at once).
   */
  public startRotation(
    visibleFrom?: number,
  ): { ok: true; nextSecret: string } | { ok: false; refusal: RotationRefusal } {
    if (this.#next !== null) return { ok: false, refusal: 'already_rotating' };
    const value = generateClientSecret();
    this.#next = store(value);
    this.#publish(visibleFrom);
    return { ok: true, nextSecret: value };
  }

  /** Promotes the next secret; the old one stops authenticating at `visibleFrom` (default: at once). */
  public completeRotation(visibleFrom?: number): { ok: true } | { ok: false; refusal: RotationRefusal } {
    if (this.#next === null) return { ok: false, refusal: 'not_rotating' };
    this.#current = this.#next;
    this.#next = null;
    this.#publish(visibleFrom);
    return { ok: true };
  }

  /** Discards the next secret; it stops authenticating at `visibleFrom` (default: at once). */
  public cancelRotation(visibleFrom?: number): { ok: true } | { ok: false; refusal: RotationRefusal } {
    if (this.#next === null) return { ok: false, refusal: 'not_rotating' };
    this.#next = null;
    this.#publish(visibleFrom);
    return { ok: true };
  }

  /** Appends the latest state as a token view; never visible before the view it follows. */
  #publish(visibleFrom = Number.NEGATIVE_INFINITY): void {
    const last = this.#views.at(-1)?.visibleFrom ?? Number.NEGATIVE_INFINITY;
    const secrets = this.#next === null ? [this.#current] : [this.#current, this.#next];
    this.#views.push({ secrets, visibleFrom: Math.max(visibleFrom, last) });
  }

  /** The newest view visible at `at`. */
  #viewAt(at: number): TokenView {
    let index = 0;
    while (index + 1 < this.#views.length && (this.#views[index + 1] as TokenView).visibleFrom <= at) index++;
    const view = this.#views[index] as TokenView;
    // The emulator clock only moves on, so older views are never served again. Asking about the
    // latest state (no `at`) prunes nothing: later views may still be waiting.
    if (Number.isFinite(at)) this.#views.splice(0, index);
    return view;
  }
}
