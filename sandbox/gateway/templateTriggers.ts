/**
 * What the synthesized template says about triggers: its EventBridge rules (pattern, bus, targets
 * and how each target's input is built) and its EventBridge Scheduler schedules. The gateway and the
 * sandbox read these instead of restating them, so a change to a rule in `lib/` changes the sandbox.
 */
import { isRecord } from '../localExecutor/template.js';

/** Where a rule or schedule delivers. */
export type TriggerTarget =
  | { readonly kind: 'stateMachine'; readonly logicalId: string }
  | { readonly kind: 'lambda'; readonly logicalId: string; readonly constructPath?: string }
  | { readonly kind: 'other'; readonly description: string };

/** How a target's input is made from the matched event (EventBridge's three ways, or the whole event). */
export type TargetInput =
  | { readonly kind: 'event' }
  | { readonly kind: 'constant'; readonly json: string }
  | { readonly kind: 'path'; readonly path: string }
  | {
      readonly kind: 'transformer';
      readonly pathsMap: Readonly<Record<string, string>>;
      readonly template: string;
    };

export interface TemplateRule {
  readonly logicalId: string;
  /** The logical id of the `AWS::Events::EventBus` the rule is on; undefined for the default bus. */
  readonly eventBusLogicalId?: string;
  readonly eventPattern: Record<string, unknown>;
  readonly enabled: boolean;
  readonly targets: readonly {
    readonly id: string;
    readonly target: TriggerTarget;
    readonly input: TargetInput;
  }[];
}

export interface TemplateSchedule {
  readonly logicalId: string;
  readonly expression: string;
  readonly timeZone: string;
  readonly target: TriggerTarget;
  /** The target's `Input` (JSON text), as Scheduler passes it. */
  readonly input: string;
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

function resources(template: unknown): Map<string, Resource> {
  const found = new Map<string, Resource>();
  if (!isRecord(template) || !isRecord(template.Resources)) return found;
  for (const [id, value] of Object.entries(template.Resources)) {
    if (isRecord(value) && typeof value.Type === 'string') found.set(id, value as unknown as Resource);
  }
  return found;
}

/** The logical id a `{Ref: X}` or `{"Fn::GetAtt": [X, attr]}` points at. */
function referencedLogicalId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
}

function resolveTarget(arn: unknown, all: Map<string, Resource>): TriggerTarget {
  const logicalId = referencedLogicalId(arn);
  const resource = logicalId === undefined ? undefined : all.get(logicalId);
  if (logicalId !== undefined && resource?.Type === 'AWS::StepFunctions::StateMachine') {
    return { kind: 'stateMachine', logicalId };
  }
  if (logicalId !== undefined && resource?.Type === 'AWS::Lambda::Function') {
    const path = resource.Metadata?.['aws:cdk:path'];
    return {
      kind: 'lambda',
      logicalId,
      ...(typeof path === 'string' ? { constructPath: path.replace(/\/Resource$/, '') } : {}),
    };
  }
  return { kind: 'other', description: JSON.stringify(arn) };
}

function targetInput(target: Record<string, unknown>): TargetInput {
  if (typeof target.Input === 'string') return { kind: 'constant', json: target.Input };
  if (typeof target.InputPath === 'string') return { kind: 'path', path: target.InputPath };
  const transformer = target.InputTransformer;
  if (isRecord(transformer) && typeof transformer.InputTemplate === 'string') {
    const pathsMap: Record<string, string> = {};
    if (isRecord(transformer.InputPathsMap)) {
      for (const [key, path] of Object.entries(transformer.InputPathsMap)) {
        if (typeof path === 'string') pathsMap[key] = path;
      }
    }
    return { kind: 'transformer', pathsMap, template: transformer.InputTemplate };
  }
  return { kind: 'event' };
}

/**
 * `value` with every `{Ref: X}` whose X is in `refs` replaced by its value (e.g. the state
 * machine's ARN in a pattern on its own status-change events); other intrinsics stay as they are.
 */
export function resolveRefs(value: unknown, refs: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveRefs(item, refs));
  if (!isRecord(value)) return value;
  if (typeof value.Ref === 'string' && Object.keys(value).length === 1) return refs.get(value.Ref) ?? value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveRefs(item, refs)]));
}

/** The logical ids of the template's resources of `type`. */
export function logicalIdsOfType(template: unknown, type: string): string[] {
  return [...resources(template)].filter(([, resource]) => resource.Type === type).map(([id]) => id);
}

/** Every `AWS::Events::Rule` with an event pattern (schedule-expression rules are not event routes). */
export function templateRules(template: unknown): TemplateRule[] {
  const all = resources(template);
  const rules: TemplateRule[] = [];
  for (const [logicalId, resource] of all) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const properties = resource.Properties ?? {};
    if (!isRecord(properties.EventPattern)) continue;
    const busId = referencedLogicalId(properties.EventBusName);
    const targets = Array.isArray(properties.Targets) ? properties.Targets.filter(isRecord) : [];
    rules.push({
      logicalId,
      ...(busId === undefined ? {} : { eventBusLogicalId: busId }),
      eventPattern: properties.EventPattern,
      enabled: properties.State !== 'DISABLED',
      targets: targets.map((target, index) => ({
        id: typeof target.Id === 'string' ? target.Id : `Target${index}`,
        target: resolveTarget(target.Arn, all),
        input: targetInput(target),
      })),
    });
  }
  return rules;
}

/** Every `AWS::Scheduler::Schedule`. */
export function templateSchedules(template: unknown): TemplateSchedule[] {
  const schedules: TemplateSchedule[] = [];
  const all = resources(template);
  for (const [logicalId, resource] of all) {
    if (resource.Type !== 'AWS::Scheduler::Schedule') continue;
    const properties = resource.Properties ?? {};
    const target = isRecord(properties.Target) ? properties.Target : {};
    schedules.push({
      logicalId,
      expression: typeof properties.ScheduleExpression === 'string' ? properties.ScheduleExpression : '',
      timeZone:
        typeof properties.ScheduleExpressionTimezone === 'string'
          ? properties.ScheduleExpressionTimezone
          : 'UTC',
      target: resolveTarget(target.Arn, all),
      input: typeof target.Input === 'string' ? target.Input : '{}',
    });
  }
  return schedules;
}

/**
 * Reads a simple JSONPath (`$`, `$.a.b`, `$.a[0]`, `$['a-b']`) as EventBridge input paths use them.
 * A path that finds nothing gives undefined.
 */
export function readPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  if (!path.startsWith('$')) return undefined;
  const segments = [...path.slice(1).matchAll(/\.([^.[\]]+)|\[(\d+)\]|\[['"]([^'"]+)['"]\]/g)].map(
    (match) => match[1] ?? (match[2] === undefined ? match[3] : Number(match[2])),
  );
  let current: unknown = value;
  for (const segment of segments) {
    if (typeof segment === 'number') {
      current = Array.isArray(current) ? current[segment] : undefined;
    } else if (isRecord(current) && segment !== undefined) {
      current = current[segment];
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

/**
 * The input a target receives for `event`, as EventBridge builds it. In an `InputTemplate`, a
 * placeholder inside a JSON string (`"id: <x>"`) takes a string's text; elsewhere it takes the JSON
 * value (`<x>` → `"abc"`, `12`, `{...}`); a path that finds nothing gives `null`.
 */
export function buildTargetInput(input: TargetInput, event: unknown): unknown {
  switch (input.kind) {
    case 'event':
      return event;
    case 'constant':
      return JSON.parse(input.json);
    case 'path':
      return readPath(event, input.path) ?? null;
    case 'transformer': {
      let inString = false;
      let out = '';
      const text = input.template;
      for (let i = 0; i < text.length; i += 1) {
        const char = text[i] ?? '';
        if (char === '"' && text[i - 1] !== '\\') inString = !inString;
        if (char === '<') {
          const end = text.indexOf('>', i);
          const key = end > i ? text.slice(i + 1, end) : '';
          if (end > i && Object.hasOwn(input.pathsMap, key)) {
            const value = readPath(event, input.pathsMap[key] ?? '$');
            if (inString) {
              const raw = typeof value === 'string' ? value : JSON.stringify(value ?? null);
              out += JSON.stringify(raw).slice(1, -1);
            } else {
              out += JSON.stringify(value ?? null);
            }
            i = end;
            continue;
          }
        }
        out += char;
      }
      return JSON.parse(out);
    }
  }
}
