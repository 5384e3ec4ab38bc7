import { z } from 'zod';
import { parseEnv, RotatorClientsEnvSchema, SecretPrefixEnvSchema } from './env.js';

/**
 * The environment of the SecretAgeDays publisher: where the managed secrets are and which clients
 * there are, in the same format as the rotation functions' (so one value serves both). Names
 * only: the publisher reads version metadata, never a secret value.
 */
const SecretAgeEnvSchema = z.object({
  ROTATOR_SECRET_PREFIX: SecretPrefixEnvSchema,
  ROTATOR_CLIENTS: RotatorClientsEnvSchema,
});
export type SecretAgeEnv = z.infer<typeof SecretAgeEnvSchema>;

/** Reads and validates the publisher's environment; throws {@link EnvironmentError} naming every problem. */
export function readSecretAgeEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): SecretAgeEnv {
  return parseEnv(SecretAgeEnvSchema, env);
}
