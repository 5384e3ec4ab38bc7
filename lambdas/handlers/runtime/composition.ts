import type { StepDeps, StepLogger } from '#core/deps.js';
import type { RotatorEnv } from '#wiring/environment.js';
import { createStepDeps as createWiredStepDeps } from '#wiring/stepDeps.js';

// TEMPORARY re-export for the move to lambdas/wiring; removed by the lead
export { readStytchCredentials, StytchCredentialsError } from '#adapters/aws/SecretValueReader.js';

/**
 * TEMPORARY adapter for the move to lambdas/wiring; removed by the lead: the old
 * `(env, logger)` signature of `createStepDeps`, now `createStepDeps(env, { logger })` in
 * #wiring/stepDeps.js.
 */
export function createStepDeps(env: RotatorEnv, logger: StepLogger): StepDeps {
  return createWiredStepDeps(env, { logger });
}
