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
 * The secret state of one client: the current secret and, while a rotation is pending, the next
 * one. Holds digests only; a plaintext leaves this class exactly once, as the return value of
 * {@link ClientCredential.create} or {@link ClientCredential.startRotation}.
 */
export class ClientCredential {
  #current: StoredSecret;
  #next: StoredSecret | null = null;

  private constructor(current: StoredSecret) {
    this.#current = current;
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
   * Whether `candidate` is the current or (during a rotation) the next secret. Both digests are
   * always compared, in constant time, so the answer's timing says nothing about which matched.
   */
  public verify(candidate: string): boolean {
    const digest = sha256(candidate);
    const matchesCurrent = timingSafeEqual(digest, this.#current.digest);
    const matchesNext = this.#next !== null && timingSafeEqual(digest, this.#next.digest);
    return matchesCurrent || matchesNext;
  }

  /** Creates the next secret; both secrets authenticate until complete or cancel. */
  public startRotation(): { ok: true; nextSecret: string } | { ok: false; refusal: RotationRefusal } {
    if (this.#next !== null) return { ok: false, refusal: 'already_rotating' };
    const value = generateClientSecret();
    this.#next = store(value);
    return { ok: true, nextSecret: value };
  }

  /** Promotes the next secret; the old one stops authenticating at once. */
  public completeRotation(): { ok: true } | { ok: false; refusal: RotationRefusal } {
    if (this.#next === null) return { ok: false, refusal: 'not_rotating' };
    this.#current = this.#next;
    this.#next = null;
    return { ok: true };
  }

  /** Discards the next secret; only the current one authenticates. */
  public cancelRotation(): { ok: true } | { ok: false; refusal: RotationRefusal } {
    if (this.#next === null) return { ok: false, refusal: 'not_rotating' };
    this.#next = null;
    return { ok: true };
  }
}
