import { lambdaHandler, type StepBody, type StepDepsFactory, type WorkflowState } from './stepHandler.js';
import { AwaitConsumers } from './steps/awaitConsumers.js';
import { CancelRotation } from './steps/cancelRotation.js';
import { CompleteRotation } from './steps/completeRotation.js';
import { ExecutionReconciler } from './steps/executionReconciler.js';
import { HealthAggregator } from './steps/healthAggregator.js';
import { LeakIntake } from './steps/leakIntake.js';
import { PublishPending } from './steps/publishPending.js';
import { RecordFailure } from './steps/recordFailure.js';
import { StartRotation } from './steps/startRotation.js';

export type { StepBody, WorkflowState };

/**
 * The body of every function over StepDeps, by name: for the worlds that run them all (the
 * sandbox, the workflow tests). A deployed handler imports its own body from lambdas/wiring/steps/
 * instead, never this map, so its bundle holds no other step's code.
 */
export const STEP_BODIES = {
  StartRotation,
  PublishPending,
  AwaitConsumers,
  CompleteRotation,
  CancelRotation,
  RecordFailure,
  LeakIntake,
  HealthAggregator,
  ExecutionReconciler,
} as const;

/** The name of every function whose body is a core step over {@link StepDeps}. */
export type StepName = keyof typeof STEP_BODIES;

/** The input and output of the function `name`, as its body declares them. */
type StepEvent<N extends StepName> = Parameters<(typeof STEP_BODIES)[N]>[1];
type StepResult<N extends StepName> = Awaited<ReturnType<(typeof STEP_BODIES)[N]>>;

/**
 * The handler of the function `name` over `deps` (the sandbox, the tests), or over the
 * container's deps: its body from {@link STEP_BODIES} in the Lambda wrapper.
 */
export function stepHandler<N extends StepName>(
  name: N,
  deps?: StepDepsFactory,
): (event: StepEvent<N>, context?: unknown) => Promise<StepResult<N>> {
  const body = STEP_BODIES[name] as StepBody<StepEvent<N>, StepResult<N>>;
  return lambdaHandler(name, body, deps);
}
