import * as z from 'zod';
import { ENV, type EnvironmentSource, parseEnv } from './environment.js';

/**
 * The environment contract of the TokenRevocationPublisher: lib/ writes it, the function and the
 * sandbox read it. In a module of its own (not environment.ts, which every function imports) so
 * that only this function's bundle holds it.
 */

/** The bucket holding the token revocation document. */
export const REVOCATIONS_BUCKET_ENV = 'ROTATOR_REVOCATIONS_BUCKET';

const TokenRevocationEnvSchema = z.object({
  [ENV.eventBusName]: z.string().min(1),
  [REVOCATIONS_BUCKET_ENV]: z.string().min(3).max(63),
});
export type TokenRevocationEnv = z.infer<typeof TokenRevocationEnvSchema>;

/** Reads and validates the publisher's environment; throws EnvironmentError naming every problem. */
export function readTokenRevocationEnv(env: EnvironmentSource = process.env): TokenRevocationEnv {
  return parseEnv(TokenRevocationEnvSchema, env);
}

/** What the publisher is configured with (CDK tokens welcome: nothing is validated here). */
export interface TokenRevocationEnvironmentValues {
  readonly eventBusName: string;
  readonly bucketName: string;
}

/** The `environment` of the publisher, as {@link readTokenRevocationEnv} reads it. */
export function tokenRevocationPublisherEnvironment(
  values: TokenRevocationEnvironmentValues,
): Record<string, string> {
  return { [ENV.eventBusName]: values.eventBusName, [REVOCATIONS_BUCKET_ENV]: values.bucketName };
}
