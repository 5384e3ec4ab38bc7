import { z } from 'zod';
import { RotatorError } from '#core/errors.js';
import { ClientIdSchema, ClientKindSchema, SecretPrefixSchema } from '#core/model.js';
import { ClientPolicySchema } from '#core/policy.js';

/**
 * The one place that reads the Lambda environment. Every variable is validated at cold start,
 * and every problem is reported at once; nothing else in the handlers reads `process.env`.
 * The Stytch project secret is NOT here: only the ARN of the secret that holds it.
 */
const RotatorEnvSchema = z.object({
  ROTATOR_TABLE_NAME: z.string().min(1),
  ROTATOR_EVENT_BUS_NAME: z.string().min(1),
  ROTATOR_SECRET_PREFIX: SecretPrefixSchema.default('stytch/m2m'),
  ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: z.string().min(1),
  /** The secret holding the fingerprint key (HMAC-SHA256 of stored and leaked secrets). */
  ROTATOR_FINGERPRINT_KEY_SECRET_ID: z.string().min(1),
  /** JSON: `{ "<clientId>": { "kind": "m2m", "policy": {...} } }`, written by the CDK app from the config. */
  ROTATOR_CLIENTS: z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.record(ClientIdSchema, z.strictObject({ kind: ClientKindSchema, policy: ClientPolicySchema }))),
  /** The rotation state machine; only the leak intake (which starts it) is given it. */
  ROTATOR_STATE_MACHINE_ARN: z.string().min(1).optional(),
  /** Overrides Stytch's base URL (the sandbox's emulator); unset in a deployment. */
  ROTATOR_STYTCH_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
});
export type RotatorEnv = z.infer<typeof RotatorEnvSchema>;
/** `ROTATOR_CLIENTS` alone, for the other functions' environments (the same JSON, the same checks). */
export const RotatorClientsEnvSchema = RotatorEnvSchema.shape.ROTATOR_CLIENTS;
/** `ROTATOR_SECRET_PREFIX` alone, with its default. */
export const SecretPrefixEnvSchema = RotatorEnvSchema.shape.ROTATOR_SECRET_PREFIX;

/** A missing or malformed environment variable: the function cannot start. */
export class EnvironmentError extends RotatorError {
  public readonly issues: readonly string[];

  public constructor(issues: readonly string[]) {
    super(`Invalid Lambda environment: ${issues.join('; ')}`);
    this.name = 'EnvironmentError';
    this.issues = issues;
  }
}

/** Reads and validates the environment; throws {@link EnvironmentError} naming every problem. */
export function readRotatorEnv(env: Readonly<Record<string, string | undefined>> = process.env): RotatorEnv {
  return parseEnv(RotatorEnvSchema, env);
}

/**
 * Validates a function's environment against its schema (every function's reader goes through
 * here); throws {@link EnvironmentError} naming every problem at once.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new EnvironmentError(
    result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
  );
}
