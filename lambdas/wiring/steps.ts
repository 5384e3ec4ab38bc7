import type { StepDeps } from '#core/deps.js';
import { handleLeak } from '#core/leakIntake.js';
import { reconcileEndedExecution } from '#core/staleRotation.js';
import { awaitConsumers } from '#core/steps/awaitConsumers.js';
import { cancelRotation } from '#core/steps/cancelRotation.js';
import { completeRotation } from '#core/steps/completeRotation.js';
import { publishPending } from '#core/steps/publishPending.js';
import { recordFailure } from '#core/steps/recordFailure.js';
import { recordHealthReport } from '#core/steps/recordHealthReport.js';
import { startRotation } from '#core/steps/startRotation.js';

/** The state that flows through the state machine: an object of named parts. */
export type WorkflowState = Record<string, unknown>;

/** A step as a Lambda handler sees it: the deps and the event, in; the new state, out. */
export type StepBody<E, R> = (deps: StepDeps, event: E) => Promise<R>;

/**
 * The body of each Lambda: call one core step with the state, and shape the output. Every
 * workflow Lambda receives the whole state (`$`) and returns it with its part added, so the state
 * machine needs no ResultPath juggling and a missing part (no `rotation` after a failed start) is
 * never a JSONPath error.
 */
export const STEP_BODIES = {
  StartRotation: (async (deps, state) => ({
    ...state,
    rotation: await startRotation(deps, state),
  })) satisfies StepBody<WorkflowState, WorkflowState>,
  PublishPending: (async (deps, state) => {
    await publishPending(deps, state);
    return state;
  }) satisfies StepBody<WorkflowState, WorkflowState>,
  AwaitConsumers: (async (deps, payload) => awaitConsumers(deps, payload)) satisfies StepBody<
    WorkflowState,
    unknown
  >,
  CompleteRotation: (async (deps, state) => ({
    ...state,
    outcome: await completeRotation(deps, state),
  })) satisfies StepBody<WorkflowState, WorkflowState>,
  CancelRotation: (async (deps, state) => ({
    ...state,
    outcome: await cancelRotation(deps, state),
  })) satisfies StepBody<WorkflowState, WorkflowState>,
  RecordFailure: (async (deps, state) => ({
    ...state,
    outcome: await recordFailure(deps, state),
  })) satisfies StepBody<WorkflowState, WorkflowState>,
  /**
   * The leak intake: an EventBridge target receiving `Secret Leak Detected` events. The envelope
   * `source` (who sent it, as IAM vouches) decides whether a report by client id is accepted.
   */
  LeakIntake: (async (deps, event: { id?: unknown; source?: unknown; detail?: unknown }) =>
    handleLeak(deps, {
      id: event.id,
      source: event.source,
      detail: event.detail,
    })) satisfies StepBody<{ id?: unknown; source?: unknown; detail?: unknown }, unknown>,
  /**
   * The health aggregator: an EventBridge target receiving `Consumer Health Reported` events. The
   * envelope `source` says which consumer sent the report; only that consumer's report counts.
   */
  HealthAggregator: (async (deps, event: { source?: unknown; detail?: unknown }) =>
    recordHealthReport(deps, event.detail, { source: event.source })) satisfies StepBody<
    { source?: unknown; detail?: unknown },
    unknown
  >,
  /** The execution reconciler: an EventBridge target receiving the state machine's status changes. */
  ExecutionReconciler: (async (deps, event: { detail?: unknown }) =>
    reconcileEndedExecution(deps, event)) satisfies StepBody<{ detail?: unknown }, unknown>,
} as const;

/** The name of every function whose body is a core step over {@link StepDeps}. */
export type StepName = keyof typeof STEP_BODIES;
