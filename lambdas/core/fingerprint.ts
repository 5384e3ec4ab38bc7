import { createHmac } from 'node:crypto';
import * as z from 'zod';
import type { ClientKind } from './model.js';
import type { Secret } from './secret.js';

/**
 * Fingerprints of secrets: HMAC-SHA256 under the deployment's fingerprint key, in lower-case hex.
 * A fingerprint names a secret without being one: without the key it cannot be brute-forced from
 * a short list of guesses, and with it, it still cannot be reversed. It is what a leak report
 * carries instead of the leaked value, and what the ledger keeps beside each stored secret.
 */

/** A fingerprint as events and ledger items carry it. */
export const FingerprintSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex HMAC-SHA256');

/** The smallest fingerprint key we accept: 32 bytes of entropy as text, as the CDK app generates it. */
export const MIN_FINGERPRINT_KEY_LENGTH = 32;

/** The fingerprint of `secret` under `key`. */
export function fingerprintOf(key: Secret, secret: Secret | string): string {
  const value = typeof secret === 'string' ? secret : secret.reveal();
  return createHmac('sha256', key.reveal()).update(value, 'utf8').digest('hex');
}

/** Computes fingerprints; the key is read once, where it lives (Secrets Manager), and never leaves. */
export interface FingerprintPort {
  fingerprint(secret: Secret | string): Promise<string>;
}

/**
 * Which of a client's secrets a fingerprint names, as of its last change: `current` and `pending`
 * authenticate; `previous` (replaced by a completed rotation) and `cancelled` (a pending secret
 * whose rotation was cancelled) are dead once the rotation that replaced them has ended.
 */
export const FINGERPRINT_STAGES = ['current', 'pending', 'previous', 'cancelled'] as const;
export type FingerprintStage = (typeof FINGERPRINT_STAGES)[number];

/** One fingerprint's entry in the ledger's index: who it belongs to and what that secret is now. */
export interface FingerprintEntry {
  readonly fingerprint: string;
  readonly clientId: string;
  readonly clientKind: ClientKind;
  readonly stage: FingerprintStage;
  /** The Secrets Manager version that holds it. */
  readonly versionId: string;
  readonly lastFour: string;
  readonly updatedAt: string;
}

/** The ledger's fingerprint index: written whenever a secret is stored, promoted or revoked. */
export interface FingerprintIndexPort {
  /** Creates or replaces the entry of `entry.fingerprint`. */
  putFingerprint(entry: FingerprintEntry): Promise<void>;
  /** The entry of `fingerprint`, or null when no managed secret ever had it. */
  findFingerprint(fingerprint: string): Promise<FingerprintEntry | null>;
}
