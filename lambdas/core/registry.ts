import * as z from 'zod';
import { ClientIdSchema, ClientKindSchema, ConsumerNameSchema, TimestampSchema } from './model.js';
import { ClientPolicySchema } from './policy.js';

/**
 * The managed clients: every client the rotator rotates is one registration in the ledger, put
 * there by `rotator apply -f` (a clients file) or `rotator register` (one client). Clients are
 * data, not infrastructure: the stack holds none of them, and the functions read them from here.
 */

/** A registered client's name: what `register --name` takes, and the key that makes it idempotent. */
export const ClientNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'must be letters, digits, ".", "_" or "-" (1-64), starting with a letter or digit',
  );

/** A Stytch M2M scope, e.g. `read:invoices`. */
export const ScopeSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9:._/*-]*$/, 'must be letters, digits and : . _ / * -');

/** Who put a registration there: `apply` may change and prune only its own (and adopts the others it is given). */
export const REGISTRARS = ['register', 'apply'] as const;

export const ClientRegistrationSchema = z.strictObject({
  clientId: ClientIdSchema,
  clientKind: ClientKindSchema,
  /** Its key: the `register --name`, a clients file entry's name, or its client id (up to 128 characters). */
  name: z.union([ClientNameSchema, ClientIdSchema]),
  /** Its M2M scopes as last applied (none for a Connected App). */
  scopes: z.array(ScopeSchema).max(100),
  expectedConsumers: z.array(ConsumerNameSchema).max(100),
  /** Per-trigger overrides besides the consumers; absent: every trigger's defaults. */
  policy: ClientPolicySchema.optional(),
  /** Its rotation schedule (EventBridge Scheduler, in the stack's registered-clients group), if any. */
  schedule: z
    .strictObject({
      expression: z.string().min(1),
      timeZone: z.string().min(1),
      flexibleWindowMinutes: z.number().int().min(1).max(1440).optional(),
      scheduleName: z.string().min(1),
    })
    .optional(),
  /** The Secrets Manager secret holding its current secret. */
  secretId: z.string().min(1),
  registeredAt: TimestampSchema,
  registeredBy: z.string().min(1).max(500),
  /** @default 'register' (registrations from before `apply` existed) */
  registrar: z.enum(REGISTRARS).optional(),
  /** When `apply` last changed it. */
  updatedAt: TimestampSchema.optional(),
});
export type ClientRegistration = z.infer<typeof ClientRegistrationSchema>;

/** The ledger's registry of managed clients. */
export interface RegistryPort {
  /**
   * Records `registration` under its name unless the name is taken; returns the stored
   * registration either way (the first one wins: registering is idempotent by name).
   */
  putRegistration(registration: ClientRegistration): Promise<ClientRegistration>;
  /** Writes `registration` as it is (both items), replacing what its name and client id held: `apply`'s write. */
  replaceRegistration(registration: ClientRegistration, previousName?: string): Promise<void>;
  /** Removes the registration (both items): the client is no longer managed. */
  removeRegistration(registration: Pick<ClientRegistration, 'name' | 'clientId'>): Promise<void>;
  findRegistrationByName(name: string): Promise<ClientRegistration | null>;
  getRegistration(clientId: string): Promise<ClientRegistration | null>;
  /**
   * Every registration. An item that cannot be read (edited by hand, written by a newer version)
   * fails the listing, unless `onUnreadable` is given: then it is skipped and reported by its key
   * (never its content), so one bad item does not blind a sweep or the leak matching to the fleet.
   */
  listRegistrations(options?: ListRegistrationsOptions): Promise<readonly ClientRegistration[]>;
}

/** See {@link RegistryPort.listRegistrations}. */
export interface ListRegistrationsOptions {
  readonly onUnreadable?: (key: string, error: Error) => void;
}

/** A client's rotation schedule's name: one per client, in the stack's registered-clients group. */
export function rotationScheduleName(clientId: string): string {
  return `rotate-${clientId}`.slice(0, 64);
}

/** The execution input a client's rotation schedule starts the workflow with. */
export function scheduledRotationInput(clientId: string) {
  return { clientId, trigger: 'schedule', requestedBy: 'eventbridge-scheduler' } as const;
}
