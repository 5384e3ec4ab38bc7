import * as z from 'zod';
import { ConsumerNameSchema, type Trigger } from './model.js';

/**
 * What a rotation does when its deadline passes before every expected consumer reported healthy:
 * `cancel` (fail-safe: keep the old secret, break nobody) or `complete` (fail-secure: revoke the
 * old secret anyway, because it leaked).
 */
export const ON_DEADLINE = ['cancel', 'complete'] as const;
export type OnDeadline = (typeof ON_DEADLINE)[number];

/** A client's rotation policy for one trigger, resolved from defaults and config overrides. */
export interface RotationPolicy {
  readonly onDeadline: OnDeadline;
  /** How long consumers have to report healthy on the pending secret. */
  readonly deadlineSeconds: number;
  /** Consumers whose healthy report is required before completing; none → complete at once. */
  readonly expectedConsumers: readonly string[];
}

/** The smallest and largest deadline: Step Functions task tokens live at most a year. */
export const MIN_DEADLINE_SECONDS = 1;
export const MAX_DEADLINE_SECONDS = 7 * 24 * 3600;

/**
 * Defaults per trigger. A leak must be dead within minutes (containment = time to complete +
 * token lifetime), so it gives consumers 10 minutes and then completes; a scheduled rotation
 * must never break a service, so it waits an hour and then cancels.
 */
export const DEFAULT_POLICIES: Readonly<Record<Trigger, Omit<RotationPolicy, 'expectedConsumers'>>> = {
  schedule: { onDeadline: 'cancel', deadlineSeconds: 3600 },
  manual: { onDeadline: 'cancel', deadlineSeconds: 1800 },
  leak: { onDeadline: 'complete', deadlineSeconds: 600 },
};

/** Per-client overrides, as they appear in the deployment config. */
export const PolicyOverridesSchema = z.strictObject({
  deadlineSeconds: z.number().int().min(MIN_DEADLINE_SECONDS).max(MAX_DEADLINE_SECONDS).optional(),
  onDeadline: z.enum(ON_DEADLINE).optional(),
});
export type PolicyOverrides = z.infer<typeof PolicyOverridesSchema>;

/** A client's policy settings: consumers plus overrides for any trigger. */
export const ClientPolicySchema = z.strictObject({
  expectedConsumers: z
    .array(ConsumerNameSchema)
    .max(100)
    .refine((names) => new Set(names).size === names.length, 'must not repeat a consumer')
    .default([]),
  schedule: PolicyOverridesSchema.optional(),
  manual: PolicyOverridesSchema.optional(),
  leak: PolicyOverridesSchema.optional(),
});
export type ClientPolicy = z.input<typeof ClientPolicySchema>;

/** Resolves the policy of one rotation: the trigger's defaults, then the client's overrides. */
export function resolvePolicy(trigger: Trigger, clientPolicy: ClientPolicy = {}): RotationPolicy {
  const parsed = ClientPolicySchema.parse(clientPolicy);
  const overrides = parsed[trigger] ?? {};
  const defaults = DEFAULT_POLICIES[trigger];
  return {
    onDeadline: overrides.onDeadline ?? defaults.onDeadline,
    deadlineSeconds: overrides.deadlineSeconds ?? defaults.deadlineSeconds,
    expectedConsumers: parsed.expectedConsumers,
  };
}
