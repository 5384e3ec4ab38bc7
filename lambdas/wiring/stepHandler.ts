import { withInvocationContext } from '#adapters/powertools/invocation.js';
import { lambdaLogger } from '#adapters/powertools/logger.js';
import type { StepDeps } from '#core/deps.js';
import { readRotatorEnv } from './environment.js';
import { toLambdaError } from './lambdaError.js';
import { createStepDeps } from './stepDeps.js';
import { STEP_BODIES, type StepBody, type StepName } from './steps.js';

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
 * invocation of a container emits the `ColdStart` metric ({@link withInvocationContext}); the
 * step runs in an X-Ray subsegment named after it. `deps` may be given (the local executor binds
 * the same handlers to sandbox deps, and passes its own context, which adds nothing).
 */
export function lambdaHandler<E, R>(
  stepName: string,
  body: StepBody<E, R>,
  deps?: StepDepsFactory,
): (event: E, context?: unknown) => Promise<R> {
  return withInvocationContext(stepName, async (event: E): Promise<R> => {
    const resolved = await (deps ?? containerDeps)();
    try {
      return await body(resolved, event);
    } catch (error) {
      const mapped = toLambdaError(error);
      resolved.logger.warn(`${stepName} failed`, { error: mapped.name, errorMessage: mapped.message });
      throw mapped;
    }
  });
}

/** The input and output of the function `name`, as its body declares them. */
type StepEvent<N extends StepName> = Parameters<(typeof STEP_BODIES)[N]>[1];
type StepResult<N extends StepName> = Awaited<ReturnType<(typeof STEP_BODIES)[N]>>;

/**
 * The handler of the function `name` (a workflow step or an event target over StepDeps): its
 * body from {@link STEP_BODIES}, over the container's deps in a Lambda, or over `deps` when given
 * (the sandbox, the tests).
 */
export function stepHandler<N extends StepName>(
  name: N,
  deps?: StepDepsFactory,
): (event: StepEvent<N>, context?: unknown) => Promise<StepResult<N>> {
  const body = STEP_BODIES[name] as StepBody<StepEvent<N>, StepResult<N>>;
  return lambdaHandler(name, body, deps);
}
