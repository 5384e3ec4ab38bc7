import { type DistributedMapPlan, rewriteDistributedMaps } from './distributedMapPlan.js';
import type { TemplateLambdaFunction } from './template.js';
import { isRecord } from './template.js';

/**
 * How a Task state is run locally:
 * - `lambdaInvoke`: `arn:aws:states:::lambda:invoke[.waitForTaskToken]`; the handler gets `Parameters.Payload`
 *   and the state gets Lambda's whole response (`{StatusCode, Payload, ExecutedVersion, …}`).
 * - `lambdaFunction`: a Lambda ARN as `Resource`; the handler gets the effective input and the state its result.
 * - `service`: any other resource, run by a `taskHandlers` entry.
 */
export type TaskKind = 'lambdaInvoke' | 'lambdaFunction' | 'service';

/** What the binding needs to know about one Task state. */
export interface TaskPlan {
  readonly stateName: string;
  readonly kind: TaskKind;
  /** The resolved `Resource`. */
  readonly resource: string;
  /** History's `resourceType`/`resource` (`lambda` / `invoke.waitForTaskToken`). */
  readonly resourceType: string;
  readonly resourceName: string;
  readonly waitForTaskToken: boolean;
  /** The function a Lambda task invokes. */
  readonly lambdaFunction?: TemplateLambdaFunction;
  /** A literal `TimeoutSeconds`. */
  readonly timeoutSeconds?: number;
  /**
   * How `TimeoutSecondsPath` reaches the binding: `injected` into the state's `Parameters` under
   * {@link LOCAL_TIMEOUT_KEY}; `wrapped` (no `Parameters`): `Parameters` become the input under
   * {@link LOCAL_INPUT_KEY} plus the timeout. See {@link planLocalDefinition}.
   */
  readonly timeoutPath: 'none' | 'injected' | 'wrapped';
  /** A literal `HeartbeatSeconds` (enforced for `.waitForTaskToken` tasks). */
  readonly heartbeatSeconds?: number;
}

/** Key under which the local definition passes a state's `TimeoutSecondsPath` value to its task. */
export const LOCAL_TIMEOUT_KEY = '__localExecutorTimeoutSeconds';
/** Key under which a wrapped state's effective input reaches its task. */
export const LOCAL_INPUT_KEY = '__localExecutorInput';
/**
 * Stands for "no timeout" on a Task without `TimeoutSeconds` (aws-local-stepfunctions would otherwise
 * time it out after 60 s; AWS does not). The largest delay a Node timer accepts, about 24.8 days.
 */
export const NO_TIMEOUT_SECONDS = 2_147_483;

/** The definition the library runs, the per-task plans, and what cannot be run. */
export interface LocalPlan {
  readonly localDefinition: Record<string, unknown>;
  readonly tasks: ReadonlyMap<string, TaskPlan>;
  /** Every state's type by name (names are unique across nested branches), for history. */
  readonly stateTypes: ReadonlyMap<string, string>;
  /** The Distributed Maps, run as inline Maps with the states they were given (see distributedMap.ts). */
  readonly distributedMaps: readonly DistributedMapPlan[];
  readonly issues: readonly string[];
}

const LAMBDA_INVOKE = /^arn:aws[a-z-]*:states:::lambda:invoke(\.waitForTaskToken)?$/;
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/;
const SERVICE_INTEGRATION = /^arn:aws[a-z-]*:states:::(.+):([^:]+)$/;

/**
 * Plans how to run `definition` locally and returns the definition given to aws-local-stepfunctions.
 * It differs from the synthesized one only where the library differs from AWS:
 * - a Task without `TimeoutSeconds`/`TimeoutSecondsPath` gets {@link NO_TIMEOUT_SECONDS} (the library's
 *   default is 60 s; AWS has none);
 * - a Task with `TimeoutSecondsPath`: AWS resolves the path against the state's input, the library after
 *   `Parameters`. The local definition adds `"__localExecutorTimeoutSeconds.$": <path>` to `Parameters`
 *   (resolved against the same input as AWS, since `InputPath` must be absent or `$`) and points
 *   `TimeoutSecondsPath` at it; the binding removes the key before the handler sees the parameters.
 *   Without `Parameters`, `Parameters` become `{"__localExecutorInput.$": "$", …timeout}` and the binding
 *   unwraps the input. So `States.Timeout` fires from the library's own timer, and Catch/Retry treat it
 *   as on AWS;
 * - a Distributed Map (the library runs Maps inline only and knows no ItemReader, ResultWriter or
 *   tolerated failures) becomes an inline Map with local states around it: `<Map> (ItemReader)` before
 *   it, its item processor inside a Parallel `<Map> (item)` whose failures go to `<Map> (item failed)`.
 *   See `rewriteDistributedMaps` in distributedMap.ts. These states' tasks are bound by the executor
 *   itself (never by `taskHandlers`) and have no timeout.
 */
export function planLocalDefinition(
  definition: Record<string, unknown>,
  lambdaFunctions: readonly TemplateLambdaFunction[],
): LocalPlan {
  const localDefinition = structuredClone(definition);
  const tasks = new Map<string, TaskPlan>();
  const stateTypes = new Map<string, string>();
  const issues: string[] = [];
  if (localDefinition.QueryLanguage === 'JSONata') {
    issues.push('The definition uses QueryLanguage JSONata, which aws-local-stepfunctions never evaluates.');
  }
  const distributedMaps = rewriteDistributedMaps(localDefinition, issues);
  const localTasks = new Set(distributedMaps.flatMap((map) => [map.itemsStateName, map.itemFailedStateName]));
  for (const [name, state] of allStates(localDefinition, issues)) {
    stateTypes.set(name, String(state.Type));
    if (state.QueryLanguage === 'JSONata') {
      issues.push(`State ${name} uses QueryLanguage JSONata, which aws-local-stepfunctions never evaluates.`);
    }
    if (localTasks.has(name)) {
      state.TimeoutSeconds = NO_TIMEOUT_SECONDS;
    } else if (state.Type === 'Task') {
      const plan = planTask(name, state, lambdaFunctions, issues);
      if (plan !== undefined) tasks.set(name, plan);
    }
  }
  return { localDefinition, tasks, stateTypes, distributedMaps, issues };
}

function planTask(
  name: string,
  state: Record<string, unknown>,
  lambdaFunctions: readonly TemplateLambdaFunction[],
  issues: string[],
): TaskPlan | undefined {
  const resource = state.Resource;
  if (typeof resource !== 'string') {
    issues.push(`Task state ${name} has no literal Resource.`);
    return undefined;
  }
  const timeoutPath = rewriteTimeout(name, state, issues);
  const common = {
    stateName: name,
    resource,
    waitForTaskToken: resource.endsWith('.waitForTaskToken'),
    timeoutPath,
    ...(typeof state.TimeoutSeconds === 'number' ? { timeoutSeconds: state.TimeoutSeconds } : {}),
    ...(typeof state.HeartbeatSeconds === 'number' ? { heartbeatSeconds: state.HeartbeatSeconds } : {}),
  };

  const invoke = LAMBDA_INVOKE.exec(resource);
  if (invoke !== null) {
    const parameters = isRecord(state.Parameters) ? state.Parameters : {};
    const functionName = parameters.FunctionName;
    if (typeof functionName !== 'string') {
      issues.push(
        `Task state ${name} invokes Lambda without a literal Parameters.FunctionName; a function chosen at run time cannot be bound locally.`,
      );
      return undefined;
    }
    const lambdaFunction = findFunction(functionName, lambdaFunctions);
    if (lambdaFunction === undefined) {
      issues.push(
        `Task state ${name} invokes ${functionName}, which is not a Lambda function of the template.`,
      );
      return undefined;
    }
    return {
      ...common,
      kind: 'lambdaInvoke',
      resourceType: 'lambda',
      resourceName: invoke[1] === undefined ? 'invoke' : 'invoke.waitForTaskToken',
      lambdaFunction,
    };
  }

  if (LAMBDA_ARN.test(resource)) {
    const lambdaFunction = findFunction(resource, lambdaFunctions);
    if (lambdaFunction === undefined) {
      issues.push(`Task state ${name} invokes ${resource}, which is not a Lambda function of the template.`);
      return undefined;
    }
    return {
      ...common,
      kind: 'lambdaFunction',
      resourceType: 'lambda',
      resourceName: resource,
      lambdaFunction,
    };
  }

  const service = SERVICE_INTEGRATION.exec(resource);
  return {
    ...common,
    kind: 'service',
    resourceType: service?.[1] ?? 'unknown',
    resourceName: service?.[2] ?? resource,
  };
}

/** Rewrites `TimeoutSecondsPath` / a missing timeout as documented on {@link planLocalDefinition}. */
function rewriteTimeout(
  name: string,
  state: Record<string, unknown>,
  issues: string[],
): TaskPlan['timeoutPath'] {
  if (typeof state.TimeoutSeconds === 'number') return 'none';
  const path = state.TimeoutSecondsPath;
  if (typeof path !== 'string') {
    state.TimeoutSeconds = NO_TIMEOUT_SECONDS;
    return 'none';
  }
  if (state.InputPath !== undefined && state.InputPath !== '$') {
    issues.push(
      `Task state ${name} combines TimeoutSecondsPath with InputPath ${JSON.stringify(state.InputPath)}; AWS resolves the path against the raw state input, which the local executor cannot reach then. Drop InputPath (select in Parameters instead).`,
    );
    return 'none';
  }
  state.TimeoutSecondsPath = `$.${LOCAL_TIMEOUT_KEY}`;
  if (state.Parameters === undefined) {
    state.Parameters = { [`${LOCAL_INPUT_KEY}.$`]: '$', [`${LOCAL_TIMEOUT_KEY}.$`]: path };
    return 'wrapped';
  }
  if (!isRecord(state.Parameters)) {
    issues.push(`Task state ${name} has TimeoutSecondsPath and Parameters that are not an object.`);
    return 'none';
  }
  state.Parameters = { ...state.Parameters, [`${LOCAL_TIMEOUT_KEY}.$`]: path };
  return 'injected';
}

/** Finds a function by name, partial or full ARN, with or without a qualifier. */
function findFunction(
  reference: string,
  lambdaFunctions: readonly TemplateLambdaFunction[],
): TemplateLambdaFunction | undefined {
  const match = /^(?:(?:arn:aws[a-z-]*:lambda:[^:]*:)?[^:]*:function:)?([^:]+)(?::[^:]+)?$/.exec(reference);
  const name = match?.[1];
  return lambdaFunctions.find((fn) => fn.functionName === name);
}

/** Every state of the definition, including those of Parallel branches and Map processors. */
export function allStates(
  definition: Record<string, unknown>,
  issues: string[] = [],
): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [];
  const visit = (machine: unknown): void => {
    if (!isRecord(machine) || !isRecord(machine.States)) return;
    for (const [name, state] of Object.entries(machine.States)) {
      if (!isRecord(state)) {
        issues.push(`State ${name} is not an object.`);
        continue;
      }
      out.push([name, state]);
      if (Array.isArray(state.Branches)) for (const branch of state.Branches) visit(branch);
      visit(state.Iterator);
      visit(state.ItemProcessor);
    }
  };
  visit(definition);
  return out;
}

/** `waitTimeOverrides` (ms) for `Wait` states with a literal `Seconds`. */
export function waitTimeOverrides(
  definition: Record<string, unknown>,
  scale: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, state] of allStates(definition)) {
    if (state.Type === 'Wait' && typeof state.Seconds === 'number')
      out[name] = Math.round(state.Seconds * 1000 * scale);
  }
  return out;
}

/** `retryIntervalOverrides` (ms per retrier): the scaled `IntervalSeconds`, capped by `MaxDelaySeconds`. */
export function retryIntervalOverrides(
  definition: Record<string, unknown>,
  scale: number,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, state] of allStates(definition)) {
    if (!Array.isArray(state.Retry)) continue;
    out[name] = state.Retry.map((retrier: unknown) => {
      const r = isRecord(retrier) ? retrier : {};
      const interval = typeof r.IntervalSeconds === 'number' ? r.IntervalSeconds : 1;
      const cap = typeof r.MaxDelaySeconds === 'number' ? r.MaxDelaySeconds : Number.POSITIVE_INFINITY;
      return Math.round(Math.min(interval, cap) * 1000 * scale);
    });
  }
  return out;
}
