import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A secret value that cannot leak by accident: `String()`, template literals, `JSON.stringify`,
 * `console.log` and `util.inspect` all show only its last four characters. The value itself is
 * read with {@link Secret.reveal}, at the one place that must hand it on (a token request, a
 * Secrets Manager write).
 *
 * The value lives in a private field, so it is not an enumerable (or any) property of the object.
 */
export class Secret {
  readonly #value: string;

  public constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. Call it only where the value must leave the process. */
  public reveal(): string {
    return this.#value;
  }

  /** The last four characters, the only part of a secret we ever log or store beside it. */
  public get lastFour(): string {
    return lastFour(this.#value);
  }

  public get length(): number {
    return this.#value.length;
  }

  /** Constant-time comparison with another secret or plain string. */
  public equals(other: Secret | string): boolean {
    const a = Buffer.from(this.#value);
    const b = Buffer.from(typeof other === 'string' ? other : other.reveal());
    return a.length === b.length && timingSafeEqual(a, b);
  }

  public toString(): string {
    return `${REDACTED} …${this.lastFour}`;
  }

  public toJSON(): string {
    return this.toString();
  }

  public [inspect.custom](): string {
    return `Secret(${this.toString()})`;
  }

  /** Wraps a plain string, or returns a Secret unchanged. */
  public static from(value: Secret | string): Secret {
    return value instanceof Secret ? value : new Secret(value);
  }
}

/** The last four characters of a secret (all of it when shorter, which only test values are). */
export function lastFour(value: string): string {
  return value.slice(-4);
}
