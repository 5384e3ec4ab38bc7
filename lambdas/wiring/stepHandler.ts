import { withInvocationContext } from '#adapters/powertools/invocation.js';
import { lambdaLogger } from '#adapters/powertools/logger.js';
import type { StepDeps } from '#core/deps.js';
import { readRotatorEnv } from './environment.js';
import { toLambdaError } from './lambdaError.js';
import { createStepDeps } from './stepDeps.js';
import { withUrgencyOf } from './urgency.js';

/** The state that flows through the state machine: an object of named parts. */
export type WorkflowState = Record<string, unknown>;

/** A step as a Lambda handler sees it: the deps and the event, in; the new state, out. */
export type StepBody<E, R> = (deps: StepDeps, event: E) => Promise<R>;

/** Gives the deps of an invocation; called on every invocation, so it should cache. */
export type StepDepsFactory = () => Promise<StepDeps>;

let containerDepsCache: StepDeps | undefined;

/**
 * The container's StepDeps, built once, on the first invocation: the environment is read and
 * validated then (a broken one fails loudly), and importing a handler has no side effects, so the
 * local executor can bind the same handlers to sandbox deps.
 */
function containerDeps(): Promise<StepDeps> {
  containerDepsCache ??= createStepDeps(readRotatorEnv(), { logger: lambdaLogger });
  return Promise.resolve(containerDepsCache);
}

/**
 * Wraps a step as a Lambda handler: parse nothing here (the core validates), call the step, and
 * map what it throws to what the state machine's Retry/Catch expect ({@link toLambdaError}).
 * Given the Lambda context, every log line of the invocation carries it, and the first
 * invocation of a container emits the `ColdStart` metric ({@link withInvocationContext}).
 * `deps` may be given (the local executor binds
 * the same handlers to sandbox deps, and passes its own context, which adds nothing).
 *
 * A handler entry passes its own body (lambdas/wiring/steps/), never the map of every body, so
 * its bundle holds only that step's core code.
 */
export function lambdaHandler<E, R>(
  stepName: string,
  body: StepBody<E, R>,
  deps?: StepDepsFactory,
): (event: E, context?: unknown) => Promise<R> {
  return withInvocationContext(async (event: E): Promise<R> => {
    const resolved = await (deps ?? containerDeps)();
    try {
      // A leak's steps may use the budget that other rotations leave free (./urgency.ts).
      return await withUrgencyOf(event, () => body(resolved, event));
    } catch (error) {
      const mapped = toLambdaError(error);
      resolved.logger.warn(`${stepName} failed`, { error: mapped.name, errorMessage: mapped.message });
      throw mapped;
    }
  });
}
