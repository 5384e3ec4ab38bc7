import * as z from 'zod';
import { ClientIdSchema, ConsumerNameSchema, TimestampSchema } from './model.js';

/**
 * Clients registered at run time (`rotator register`), beside the ones the deployment config
 * declares. The ledger keeps one registration per client; the workflow rotates a registered
 * client exactly as a configured one (the config wins when both name it).
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

export const ClientRegistrationSchema = z.strictObject({
  clientId: ClientIdSchema,
  clientKind: z.literal('m2m'),
  name: ClientNameSchema,
  scopes: z.array(ScopeSchema).min(1).max(100),
  expectedConsumers: z.array(ConsumerNameSchema).max(100),
  /** The schedule `register` created (EventBridge Scheduler), if any. */
  schedule: z
    .strictObject({
      expression: z.string().min(1),
      timeZone: z.string().min(1),
      scheduleName: z.string().min(1),
    })
    .optional(),
  /** The Secrets Manager secret holding its current secret. */
  secretId: z.string().min(1),
  registeredAt: TimestampSchema,
  registeredBy: z.string().min(1).max(500),
});
export type ClientRegistration = z.infer<typeof ClientRegistrationSchema>;

/** The ledger's registry of run-time clients. */
export interface RegistryPort {
  /**
   * Records `registration` under its name unless the name is taken; returns the stored
   * registration either way (the first one wins: registering is idempotent by name).
   */
  putRegistration(registration: ClientRegistration): Promise<ClientRegistration>;
  findRegistrationByName(name: string): Promise<ClientRegistration | null>;
  getRegistration(clientId: string): Promise<ClientRegistration | null>;
  listRegistrations(): Promise<readonly ClientRegistration[]>;
}
