import { isRecord } from './template.js';

/**
 * Key of the run context (`$$.LocalExecutorMaps`) under which an execution keeps, per Distributed
 * Map, the items its ItemReader returned and the state of the current map run. The items are read
 * from there by the Map's `ItemsPath`, so they never enter the state data (nor the history).
 */
export const LOCAL_MAPS_CONTEXT_KEY = 'LocalExecutorMaps';
/** Key of the map run number in the input of `<Map> (item)`; the item itself is under `Item`. */
export const LOCAL_MAP_RUN_KEY = 'LocalExecutorMapRun';
/** The Map's result when its ResultWriter was dropped (at the Map's `ResultPath`). */
export const RESULTS_NOT_WRITTEN = { LocalExecutor: 'map results are not written (README.md)' } as const;

/** Resource of `<Map> (items)` (a Distributed Map without ItemReader) and of `<Map> (item failed)`. */
const ITEMS_RESOURCE = 'arn:aws:states:::localExecutor:mapItems';
const ITEM_FAILED_RESOURCE = 'arn:aws:states:::localExecutor:mapItemFailed';
/** AWS's longest state name. */
const MAX_STATE_NAME = 80;
/** The ReaderConfig fields the local executor honours. */
const READER_CONFIG_FIELDS = new Set(['InputType', 'MaxItems', 'MaxItemsPath']);
/** Fields of a Distributed Map the local (inline) Map does not have. */
const DISTRIBUTED_ONLY_FIELDS = [
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
  'Label',
  'Parameters',
  'Iterator',
  'ItemsPath',
] as const;

/** How one Distributed Map runs locally (see {@link rewriteDistributedMaps}). */
export interface DistributedMapPlan {
  readonly mapName: string;
  /** Its entry under `$$.LocalExecutorMaps`. */
  readonly contextKey: string;
  /** The Task state inserted before the Map: `<Map> (ItemReader)`, or `<Map> (items)` without ItemReader. */
  readonly itemsStateName: string;
  /** The Parallel around the item processor: `<Map> (item)`. */
  readonly itemStateName: string;
  /** The Task state that counts a failed item: `<Map> (item failed)`. */
  readonly itemFailedStateName: string;
  /** The ItemReader's `Resource` (`arn:aws:states:::s3:getObject`); none when the items come from `ItemsPath`. */
  readonly itemReaderResource?: string;
  /** The states of the original item processor (nested ones too). */
  readonly processorStates: readonly string[];
}

/**
 * Rewrites every Distributed Map (`ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED`) of `definition`
 * (in place) into an inline Map that aws-local-stepfunctions runs with AWS's semantics where they matter:
 *
 * - **Items.** A Task state `<Map> (ItemReader)` is inserted before the Map, and every transition to
 *   the Map (`StartAt`, `Next`, `Default`, `Choices[].Next`, `Catch[].Next`) goes to it. Its
 *   `Parameters` are `{ItemReader: <the ItemReader's Parameters>, MapRun: <tolerated failures and
 *   MaxItems, literal or paths>}`, resolved against the Map's input (it has the Map's `InputPath`),
 *   and `ResultPath: null`. Its handler (bound by {@link DistributedMapRuns}, not by `taskHandlers`)
 *   calls `itemReaders['<Map>']` and keeps the items in the run context; the Map reads them with
 *   `ItemsPath: "$$.LocalExecutorMaps.<key>.Items"`, so they are in no state's input or output. It has
 *   the Map's `Retry` and `Catch`, so an ItemReader failure (`States.ItemReaderFailed`) is handled as
 *   the Map's. A Distributed Map without ItemReader gets `<Map> (items)` instead, reading `ItemsPath`.
 * - **Tolerated failures.** The item processor becomes the one branch of a Parallel `<Map> (item)`
 *   (`InputPath: "$.Item"`, `OutputPath: "$[0]"`) whose `Catch` of `States.ALL` goes to a Task
 *   `<Map> (item failed)`. That one counts the failure for the current map run and returns `{Error,
 *   Cause}` (the item's result) while the failures stay within the threshold, or fails the Map with
 *   `States.ExceedToleratedFailureThreshold` once they exceed it. The Map's `ItemSelector` becomes
 *   `{"LocalExecutorMapRun.$": "$$.LocalExecutorMaps.<key>.Run", "Item": <the ItemSelector>}`: reading
 *   `Run` stops every item that would start after the map run failed or the execution ended (the
 *   library would start them).
 * - **Dropped.** `ResultWriter` (the Map's result becomes {@link RESULTS_NOT_WRITTEN} through its
 *   `ResultSelector`), `Label`, the tolerated-failure fields (moved to `<Map> (ItemReader)`),
 *   `ProcessorConfig` (→ `INLINE`). `MaxConcurrency`/`MaxConcurrencyPath` stay (0 is 40 locally).
 *
 * Reported in `issues`: `ItemBatcher`, a `ReaderConfig.InputType` other than JSON, other ReaderConfig
 * fields, an added state name that is already taken.
 */
export function rewriteDistributedMaps(
  definition: Record<string, unknown>,
  issues: string[],
): DistributedMapPlan[] {
  const allScopes = scopes(definition);
  const taken = new Set(allScopes.flatMap((scope) => Object.keys(scope.States as object)));
  const contextKeys = new Set<string>();
  const plans: DistributedMapPlan[] = [];
  for (const scope of allScopes) {
    const states = scope.States as Record<string, unknown>;
    for (const [mapName, state] of Object.entries(states)) {
      if (!isDistributedMap(state)) continue;
      const contextKey = contextKeyOf(mapName, plans.length, contextKeys);
      const plan = rewriteMap(scope, mapName, state, contextKey, taken, issues);
      if (plan !== undefined) plans.push(plan);
    }
  }
  return plans;
}

function isDistributedMap(state: unknown): state is Record<string, unknown> {
  if (!isRecord(state) || state.Type !== 'Map') return false;
  const processor = isRecord(state.ItemProcessor) ? state.ItemProcessor : undefined;
  return isRecord(processor?.ProcessorConfig) && processor.ProcessorConfig.Mode === 'DISTRIBUTED';
}

function rewriteMap(
  scope: Record<string, unknown>,
  mapName: string,
  map: Record<string, unknown>,
  contextKey: string,
  taken: Set<string>,
  issues: string[],
): DistributedMapPlan | undefined {
  const where = `Map state ${mapName}`;
  const before = issues.length;
  if (map.ItemBatcher !== undefined) {
    issues.push(`${where} batches its items (ItemBatcher), which the local executor does not support.`);
  }
  const reader = map.ItemReader;
  let readerResource: string | undefined;
  let readerConfig: Record<string, unknown> = {};
  if (reader !== undefined) {
    if (!isRecord(reader) || typeof reader.Resource !== 'string') {
      issues.push(`${where} has an ItemReader without a literal Resource.`);
    } else {
      readerResource = reader.Resource;
      readerConfig = isRecord(reader.ReaderConfig) ? reader.ReaderConfig : {};
      const inputType = readerConfig.InputType;
      if (inputType !== undefined && inputType !== 'JSON') {
        issues.push(
          `${where} reads ${String(inputType)} items (ItemReader.ReaderConfig.InputType); the local executor reads JSON only.`,
        );
      }
      for (const field of Object.keys(readerConfig)) {
        if (!READER_CONFIG_FIELDS.has(field)) {
          issues.push(
            `${where} uses ItemReader.ReaderConfig.${field}, which the local executor does not support.`,
          );
        }
      }
    }
  }

  const base =
    mapName.length + ' (item failed)'.length <= MAX_STATE_NAME ? mapName : `${mapName.slice(0, 65)}…`;
  const names = {
    itemsStateName: `${base} (${reader === undefined ? 'items' : 'ItemReader'})`,
    itemStateName: `${base} (item)`,
    itemFailedStateName: `${base} (item failed)`,
  };
  for (const name of Object.values(names)) {
    if (taken.has(name)) {
      issues.push(`${where} needs a local state named ${name}, which the definition already has; rename it.`);
    }
    taken.add(name);
  }
  if (issues.length > before) return undefined;

  const processor = map.ItemProcessor as Record<string, unknown>;
  const processorStates = scopes(processor).flatMap((inner) => Object.keys(inner.States as object));

  // Every transition to the Map now goes to the state that reads its items first.
  redirect(scope, mapName, names.itemsStateName);
  const mapRun: Record<string, unknown> = {};
  for (const field of ['ToleratedFailurePercentage', 'ToleratedFailureCount'] as const) {
    copyValueOrPath(map, field, mapRun);
  }
  copyValueOrPath(readerConfig, 'MaxItems', mapRun);
  const itemsState: Record<string, unknown> = {
    Type: 'Task',
    Resource: readerResource ?? ITEMS_RESOURCE,
    ...('InputPath' in map ? { InputPath: map.InputPath } : {}),
    Parameters:
      reader === undefined
        ? { 'Items.$': typeof map.ItemsPath === 'string' ? map.ItemsPath : '$', MapRun: mapRun }
        : {
            ItemReader: isRecord(reader) && isRecord(reader.Parameters) ? reader.Parameters : {},
            MapRun: mapRun,
          },
    ResultPath: null,
    // An ItemReader failure is the Map's on AWS: the Map's Retry and Catch handle it.
    ...(reader !== undefined && Array.isArray(map.Retry) ? { Retry: structuredClone(map.Retry) } : {}),
    ...(reader !== undefined && Array.isArray(map.Catch) ? { Catch: structuredClone(map.Catch) } : {}),
    Next: mapName,
  };

  const selector = map.ItemSelector ?? map.Parameters;
  const { ProcessorConfig: _distributed, ...branch } = processor;
  const wroteResults = map.ResultWriter !== undefined;
  for (const field of DISTRIBUTED_ONLY_FIELDS) delete map[field];
  const runPath = `$$.${LOCAL_MAPS_CONTEXT_KEY}.${contextKey}`;
  map.ItemsPath = `${runPath}.Items`;
  map.ItemSelector = {
    [`${LOCAL_MAP_RUN_KEY}.$`]: `${runPath}.Run`,
    ...(selector === undefined ? { 'Item.$': '$$.Map.Item.Value' } : { Item: selector }),
  };
  map.ItemProcessor = {
    ProcessorConfig: { Mode: 'INLINE' },
    StartAt: names.itemStateName,
    States: {
      [names.itemStateName]: {
        Type: 'Parallel',
        InputPath: '$.Item',
        Branches: [branch],
        OutputPath: '$[0]',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.Failure', Next: names.itemFailedStateName }],
        End: true,
      },
      [names.itemFailedStateName]: {
        Type: 'Task',
        Resource: ITEM_FAILED_RESOURCE,
        Parameters: { 'MapRun.$': `$.${LOCAL_MAP_RUN_KEY}`, 'Failure.$': '$.Failure' },
        End: true,
      },
    },
  };
  if (wroteResults) map.ResultSelector = { ...RESULTS_NOT_WRITTEN };

  // The items state goes just before the Map (the order only matters to a reader of the definition).
  scope.States = Object.fromEntries(
    Object.entries(scope.States as Record<string, unknown>).flatMap(([name, state]) =>
      name === mapName
        ? [
            [names.itemsStateName, itemsState],
            [name, state],
          ]
        : [[name, state]],
    ),
  );
  return {
    mapName,
    contextKey,
    ...names,
    ...(readerResource === undefined ? {} : { itemReaderResource: readerResource }),
    processorStates,
  };
}

/** Every `{StartAt, States}` of the definition: the top level, Parallel branches, Map processors. */
function scopes(machine: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (!isRecord(machine) || !isRecord(machine.States)) return out;
  out.push(machine);
  for (const state of Object.values(machine.States)) {
    if (!isRecord(state)) continue;
    if (Array.isArray(state.Branches)) for (const branch of state.Branches) scopes(branch, out);
    scopes(state.Iterator, out);
    scopes(state.ItemProcessor, out);
  }
  return out;
}

/** Points every transition of `scope` that goes to `from` at `to`. */
function redirect(scope: Record<string, unknown>, from: string, to: string): void {
  if (scope.StartAt === from) scope.StartAt = to;
  for (const state of Object.values(scope.States as Record<string, unknown>)) {
    if (!isRecord(state)) continue;
    if (state.Next === from) state.Next = to;
    if (state.Default === from) state.Default = to;
    for (const rule of [
      ...(Array.isArray(state.Choices) ? state.Choices : []),
      ...(Array.isArray(state.Catch) ? state.Catch : []),
    ]) {
      if (isRecord(rule) && rule.Next === from) rule.Next = to;
    }
  }
}

/** Copies `field` (a literal) or `<field>Path` (as `"<field>.$"`) from `source` to `target`. */
function copyValueOrPath(
  source: Record<string, unknown>,
  field: string,
  target: Record<string, unknown>,
): void {
  if (source[field] !== undefined) target[field] = source[field];
  else if (typeof source[`${field}Path`] === 'string') target[`${field}.$`] = source[`${field}Path`];
}

/** A JSONPath-safe key for the map's entry in the run context. */
function contextKeyOf(mapName: string, index: number, used: Set<string>): string {
  let key = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(mapName) ? mapName : `map${index}`;
  for (let n = 0; used.has(key); n += 1) key = `map${index}_${n}`;
  used.add(key);
  return key;
}
