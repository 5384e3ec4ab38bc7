import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { DistributedMapPlan } from './distributedMapPlan.js';
import { TaskFailureError } from './errors.js';
import { json } from './history.js';
import type { LibraryTaskHandlers, RunBinding } from './lambdaBinding.js';
import { isRecord } from './template.js';
import type { LocalItemReader } from './types.js';

/**
 * The Distributed Maps of one execution at run time: the states that `rewriteDistributedMaps`
 * (./distributedMapPlan.ts) added are bound here.
 */

/** The current map run of one Distributed Map in one execution. */
interface MapRunState {
  items: readonly unknown[];
  toleratedFailurePercentage?: number;
  toleratedFailureCount?: number;
  /** Incremented each time the Map starts (again: Retry, a loop). */
  run: number;
  failures: number;
  /** Set when the map run failed: the error it failed with. */
  ended?: TaskFailureError;
}

/** The tolerated failures and MaxItems of a map run, as `<Map> (ItemReader)` resolved them. */
interface MapRunLimits {
  readonly toleratedFailurePercentage?: number;
  readonly toleratedFailureCount?: number;
  readonly maxItems?: number;
}

/**
 * One execution's Distributed Maps: the handlers of the states `rewriteDistributedMaps` added,
 * the run context's `LocalExecutorMaps` entry they share with the Map, and whether a task of an item
 * processor may still run.
 */
export class DistributedMapRuns {
  /** The run context's `LocalExecutorMaps`. */
  public readonly context: Record<string, unknown> = {};
  /** `taskResourceLocalHandlers` of `<Map> (ItemReader)` / `(items)` and `<Map> (item failed)`. */
  public readonly handlers: LibraryTaskHandlers = {};
  private readonly runs = new Map<string, MapRunState>();
  /** State name → the Distributed Maps whose item processor holds it. */
  private readonly enclosing = new Map<string, string[]>();

  public constructor(
    plans: readonly DistributedMapPlan[],
    private readonly readers: Readonly<Record<string, LocalItemReader>>,
    private readonly run: RunBinding,
  ) {
    for (const plan of plans) {
      const state: MapRunState = { items: [], run: 0, failures: 0 };
      this.runs.set(plan.mapName, state);
      for (const name of plan.processorStates) {
        this.enclosing.set(name, [...(this.enclosing.get(name) ?? []), plan.mapName]);
      }
      const isRunning = run.isRunning;
      this.context[plan.contextKey] = {
        /** Read by the Map's ItemsPath when it starts: a new map run. */
        get Items(): readonly unknown[] {
          state.run += 1;
          state.failures = 0;
          delete state.ended;
          return state.items;
        },
        /** Read by the Map's ItemSelector as each item starts: no item starts once the map run ended. */
        get Run(): number {
          if (!isRunning()) throw executionEnded();
          if (state.ended !== undefined) throw state.ended;
          return state.run;
        },
      };
      this.handlers[plan.itemsStateName] = (input) => this.prepare(plan, state, input) as never;
      this.handlers[plan.itemFailedStateName] = (input) => this.itemFailed(plan, state, input) as never;
    }
  }

  /** False for a task of an item processor whose map run has failed (its result would go nowhere). */
  public isStateActive(stateName: string): boolean {
    return (this.enclosing.get(stateName) ?? []).every(
      (mapName) => this.runs.get(mapName)?.ended === undefined,
    );
  }

  /** `<Map> (ItemReader)` / `<Map> (items)`: reads the items and the map run's limits. */
  private async prepare(plan: DistributedMapPlan, state: MapRunState, input: unknown): Promise<null> {
    const parameters = isRecord(input) ? input : {};
    const limits = mapRunLimits(plan.mapName, parameters.MapRun);
    // After one macrotask the history holds this state's TaskStateEntered (see lambdaBinding).
    await nextMacrotask();
    if (!this.run.isRunning()) throw executionEnded();
    let items: readonly unknown[];
    if (plan.itemReaderResource === undefined) {
      if (!Array.isArray(parameters.Items)) {
        throw new TaskFailureError('States.Runtime', `${plan.mapName}: ItemsPath does not select an array.`, {
          final: true,
        });
      }
      items = parameters.Items;
    } else {
      items = await this.read(plan, plan.itemReaderResource, parameters.ItemReader);
    }
    state.items =
      limits.maxItems === undefined || limits.maxItems === 0 ? items : items.slice(0, limits.maxItems);
    if (limits.toleratedFailurePercentage === undefined) delete state.toleratedFailurePercentage;
    else state.toleratedFailurePercentage = limits.toleratedFailurePercentage;
    if (limits.toleratedFailureCount === undefined) delete state.toleratedFailureCount;
    else state.toleratedFailureCount = limits.toleratedFailureCount;
    return null;
  }

  /** Calls the map's item reader, recording the task events of `<Map> (ItemReader)` as for a service task. */
  private async read(plan: DistributedMapPlan, resource: string, rawParameters: unknown): Promise<unknown[]> {
    const parameters = isRecord(rawParameters) ? rawParameters : {};
    const service = /^arn:aws[a-z-]*:states:::(.+):([^:]+)$/.exec(resource);
    const ids = { resourceType: service?.[1] ?? 'unknown', resource: service?.[2] ?? resource };
    const { history } = this.run;
    history.add('TaskScheduled', {
      taskScheduledEventDetails: { ...ids, region: this.run.region, parameters: json(parameters) },
    });
    history.add('TaskStarted', { taskStartedEventDetails: ids });
    const fail = (cause: string): TaskFailureError => {
      const error = new TaskFailureError('States.ItemReaderFailed', cause);
      if (this.run.isRunning()) {
        history.add('TaskFailed', { taskFailedEventDetails: { ...ids, error: error.name, cause } });
      }
      return error;
    };

    let items: unknown;
    try {
      const reader = this.readers[plan.mapName];
      if (reader === undefined) throw new Error(`no itemReaders['${plan.mapName}']`);
      // As from S3: JSON text, parsed.
      items = JSON.parse(JSON.stringify((await reader(JSON.parse(json(parameters)))) ?? null));
    } catch (error) {
      throw fail(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
    if (!Array.isArray(items)) throw fail(`The ItemReader did not return a JSON array (got ${json(items)}).`);
    if (this.run.isRunning()) {
      history.add('TaskSucceeded', {
        taskSucceededEventDetails: {
          ...ids,
          output: json({ ItemCount: items.length }),
          outputDetails: { truncated: false },
        },
      });
    }
    return items;
  }

  /** `<Map> (item failed)`: counts the failure; fails the Map once the failures exceed the threshold. */
  private async itemFailed(
    plan: DistributedMapPlan,
    state: MapRunState,
    input: unknown,
  ): Promise<{ Error: string; Cause: string }> {
    if (!this.run.isRunning()) throw executionEnded();
    const parameters = isRecord(input) ? input : {};
    const failure = isRecord(parameters.Failure) ? parameters.Failure : {};
    const result = {
      Error: typeof failure.Error === 'string' ? failure.Error : 'States.Runtime',
      Cause: typeof failure.Cause === 'string' ? failure.Cause : '',
    };
    // An item of an earlier, ended map run changes nothing.
    if (parameters.MapRun !== state.run || state.ended !== undefined) return result;
    state.failures += 1;
    const total = state.items.length;
    const { failures, toleratedFailurePercentage: percentage, toleratedFailureCount: count } = state;
    const exceeded =
      percentage === undefined && count === undefined
        ? failures > 0
        : (count !== undefined && failures > count) ||
          (percentage !== undefined && (failures / total) * 100 > percentage);
    if (!exceeded) return result;
    const tolerated = [
      ...(percentage === undefined ? [] : [`ToleratedFailurePercentage ${percentage}`]),
      ...(count === undefined ? [] : [`ToleratedFailureCount ${count}`]),
    ];
    state.ended = new TaskFailureError(
      'States.ExceedToleratedFailureThreshold',
      `${plan.mapName}: ${failures} of ${total} items failed, more than tolerated (${
        tolerated.length === 0 ? 'no failure tolerated' : tolerated.join(', ')
      }). Last failure: ${result.Error}.`,
    );
    throw state.ended;
  }
}

/** Validates what `<Map> (ItemReader)` resolved; AWS fails the Map with States.Runtime for bad values. */
function mapRunLimits(mapName: string, value: unknown): MapRunLimits {
  const limits = isRecord(value) ? value : {};
  const invalid = (field: string, expected: string): TaskFailureError =>
    new TaskFailureError(
      'States.Runtime',
      `${mapName}: ${field} must be ${expected} (got ${json(limits[field])}).`,
      { final: true },
    );
  const percentage = limits.ToleratedFailurePercentage;
  if (percentage !== undefined && !(typeof percentage === 'number' && percentage >= 0 && percentage <= 100)) {
    throw invalid('ToleratedFailurePercentage', 'a number from 0 to 100');
  }
  const count = limits.ToleratedFailureCount;
  if (count !== undefined && !(Number.isInteger(count) && (count as number) >= 0)) {
    throw invalid('ToleratedFailureCount', 'an integer >= 0');
  }
  const maxItems = limits.MaxItems;
  if (maxItems !== undefined && !(Number.isInteger(maxItems) && (maxItems as number) >= 0)) {
    throw invalid('MaxItems', 'an integer >= 0');
  }
  return {
    ...(percentage === undefined ? {} : { toleratedFailurePercentage: percentage as number }),
    ...(count === undefined ? {} : { toleratedFailureCount: count as number }),
    ...(maxItems === undefined ? {} : { maxItems: maxItems as number }),
  };
}

function executionEnded(): TaskFailureError {
  return new TaskFailureError('States.Runtime', 'The execution has ended.', { final: true });
}
