import * as z from 'zod';

/**
 * The vocabulary every step, event and record shares. Kept free of AWS and HTTP so the same
 * schemas validate a Lambda's input, an EventBridge event and a ledger item.
 */

/** Why a rotation runs. */
export const TRIGGERS = ['schedule', 'leak', 'manual'] as const;
export type Trigger = (typeof TRIGGERS)[number];
export const TriggerSchema = z.enum(TRIGGERS);

/** Which kind of Stytch client a managed client is; both rotate through the same workflow. */
export const CLIENT_KINDS = ['m2m', 'connected_app'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
export const ClientKindSchema = z.enum(CLIENT_KINDS);

/**
 * A Stytch client id: `m2m-client-test-<uuid>`, `connected-app-live-<uuid>`, or a custom id
 * chosen at create. Restricted to characters that are safe in a Secrets Manager name, a DynamoDB
 * key and a URL path, so one id works everywhere without escaping.
 */
export const ClientIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-"');

/**
 * A rotation id: a UUID. It doubles as the `AWSPENDING` version id (Secrets Manager's
 * ClientRequestToken, 32-64 characters), so a retried store is a no-op.
 */
export const RotationIdSchema = z.uuid();

/** The last four characters of a secret: the only part of one we ever carry. */
export const LastFourSchema = z.string().min(1).max(4);

/** A consumer's name as it reports health (e.g. `billing-api`). */
export const ConsumerNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-"');

/** Free text a person typed (a reason, a detail): bounded so it cannot bloat an event. */
export const NoteSchema = z.string().trim().min(1).max(500);

/** An ISO-8601 timestamp with offset. */
export const TimestampSchema = z.iso.datetime({ offset: true });

/**
 * The prefix of the managed secrets' names (`<prefix>/<client_id>`): characters Secrets Manager
 * allows in a name, without a trailing "/" (which would make every name hold `//`).
 */
export const SecretPrefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9/_+=.@-]{1,200}$/, 'must be 1-200 characters valid in a secret name')
  .refine((prefix) => !prefix.endsWith('/'), 'must not end with "/"');
