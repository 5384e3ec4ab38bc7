import * as z from 'zod';
import { ClientIdSchema, ClientKindSchema } from './model.js';
import { ClientPolicySchema } from './policy.js';
import { ClientNameSchema, ScopeSchema } from './registry.js';
import { isKnownTimeZone, scheduleExpressionProblem } from './scheduleExpression.js';

/*
 * A managed client as an operator declares it: one entry of a clients file (`rotator apply -f`),
 * the registry's desired state. Clients are data, not infrastructure: the stack holds none of them.
 */

/** When a client rotates on its own: an EventBridge Scheduler expression in a time zone. */
export const ClientScheduleSchema = z.strictObject({
  /** `rate(30 days)` or `cron(0 3 1 * ? *)`, as EventBridge Scheduler takes them. */
  expression: z.string().superRefine((expression, context) => {
    const problem = scheduleExpressionProblem(expression);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  }),
  /** IANA time zone the cron is evaluated in. */
  timeZone: z
    .string()
    .default('UTC')
    .superRefine((zone, context) => {
      if (!isKnownTimeZone(zone))
        context.addIssue({
          code: 'custom',
          message: `unknown time zone ${JSON.stringify(zone.slice(0, 80))}`,
        });
    }),
  /** Minutes Scheduler may delay the start, so a fleet does not rotate in the same second. */
  flexibleWindowMinutes: z.number().int().min(1).max(1440).optional(),
});
export type ClientSchedule = z.infer<typeof ClientScheduleSchema>;

/**
 * One desired client. `name` is its key in the registry (unique in a file); an entry with a
 * `clientId` adopts that existing client (the name then defaults to the id), one without creates
 * an M2M client of that name. A Connected App is always adopted: Stytch's dashboard creates them.
 */
export const ClientSpecSchema = z
  .strictObject({
    name: ClientNameSchema.optional(),
    clientId: ClientIdSchema.optional(),
    kind: ClientKindSchema.default('m2m'),
    /** The M2M client's scopes at Stytch; required to create one, kept as Stytch has them when omitted on adopt. */
    scopes: z
      .array(ScopeSchema)
      .min(1)
      .max(100)
      .refine((scopes) => new Set(scopes).size === scopes.length, 'must not repeat a scope')
      .optional(),
    /** Omit for a client that rotates only on leaks and by hand. */
    schedule: ClientScheduleSchema.optional(),
    policy: ClientPolicySchema.default({ expectedConsumers: [] }),
    /**
     * Adopting a client whose current secret is not in Secrets Manager needs a new one (rotate
     * start + complete at Stytch): whatever uses the old secret stops working. Only when this says so.
     */
    resecret: z.boolean().optional(),
  })
  .superRefine((spec, context) => {
    if (spec.name === undefined && spec.clientId === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['name'],
        message: 'missing: an entry needs a name or a clientId',
      });
    }
    if (spec.kind === 'connected_app' && spec.clientId === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['clientId'],
        message: 'missing: a Connected App is adopted by its id (create it in the Stytch dashboard)',
      });
    }
    if (spec.kind === 'connected_app' && spec.scopes !== undefined) {
      context.addIssue({ code: 'custom', path: ['scopes'], message: 'a Connected App has no M2M scopes' });
    }
    if (spec.kind === 'm2m' && spec.clientId === undefined && spec.scopes === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['scopes'],
        message: 'missing: creating an M2M client needs scopes',
      });
    }
  });
export type ClientSpecInput = z.input<typeof ClientSpecSchema>;

/** A validated entry with its key: `name`, or the client id it adopts. */
export type ClientSpec = z.infer<typeof ClientSpecSchema> & { readonly name: string };

/** The key of a validated entry (its name, else its client id). */
export function clientSpecKey(spec: z.infer<typeof ClientSpecSchema>): string {
  return spec.name ?? (spec.clientId as string);
}
