import type { ClientSpec } from './clientSpec.js';
import type { ClientKind } from './model.js';
import type { ClientPolicy } from './policy.js';
import { DEFAULT_STYTCH_REQUESTS_PER_SECOND } from './rateBudget.js';
import type { ClientRegistration } from './registry.js';
import { spreadSchedules } from './scheduleSpread.js';

/*
 * `rotator apply`'s decision: what to do to make the registry, Stytch and the schedules match a
 * clients file, from what the CLI read of them. Pure: the same file and facts give the same plan,
 * so a second apply of an applied file plans nothing, and an apply stopped halfway plans the rest.
 */

/** One entry of the file, where it is (see clientsFile.ts). */
export interface PlannedEntry {
  readonly spec: ClientSpec;
  readonly line: number;
  readonly index: number;
}

/** A client at Stytch, as much as the plan needs. */
export interface StytchClientFact {
  readonly clientId: string;
  readonly kind: ClientKind;
  readonly name: string;
  /** M2M scopes (none for a Connected App). */
  readonly scopes: readonly string[];
  /** `trusted_metadata.managed_by` is ours: `apply` or `register` created it. */
  readonly managedByRotator: boolean;
  /** A public Connected App has no secret to rotate. */
  readonly isPublic?: boolean;
}

/** What the CLI read before planning. */
export interface ApplyFacts {
  readonly registry: readonly ClientRegistration[];
  /** Stytch's clients by id (every M2M client and Connected App); undefined when the plan did not need them. */
  readonly stytch?: ReadonlyMap<string, StytchClientFact>;
  /** Client ids whose `<prefix>/<clientId>` secret exists. */
  readonly storedSecrets: ReadonlySet<string>;
}

/** What changes of a managed client an apply makes. */
export type ClientChange = 'scopes' | 'schedule' | 'policy' | 'name';

export type ApplyAction =
  /** Create an M2M client at Stytch (`recoverClientId`: one a stopped apply created, whose secret was lost). */
  | {
      readonly action: 'create';
      readonly entry: PlannedEntry;
      readonly recoverClientId?: string;
      /** The recovered client's secret is in Secrets Manager already (the stop came after storing it). */
      readonly secretStored?: boolean;
    }
  /** Bring an existing client under management. */
  | {
      readonly action: 'adopt';
      readonly entry: PlannedEntry;
      readonly clientId: string;
      /** Give it a new secret (its current one is not in Secrets Manager). */
      readonly resecret: boolean;
      /** Stytch's scopes differ from the entry's: they are set. */
      readonly setScopes: boolean;
    }
  | {
      readonly action: 'change';
      readonly entry: PlannedEntry;
      readonly current: ClientRegistration;
      readonly changes: readonly ClientChange[];
    }
  | { readonly action: 'unchanged'; readonly entry: PlannedEntry; readonly current: ClientRegistration }
  /** Stop managing it (`--prune`): registry and schedule go; its Stytch client and secret stay. */
  | { readonly action: 'remove'; readonly current: ClientRegistration }
  /** Not in the file and not removed: without `--prune`, or registered by `rotator register`. */
  | {
      readonly action: 'keep';
      readonly current: ClientRegistration;
      readonly why: 'no-prune' | 'registered';
    };

/** An entry the plan cannot act on: nothing is applied while there is one. */
export interface PlanProblem {
  readonly line: number;
  readonly index: number;
  readonly message: string;
}

export interface ApplyPlan {
  readonly actions: readonly ApplyAction[];
  readonly problems: readonly PlanProblem[];
}

/** Whether planning `entries` against `registry` needs Stytch's clients (some entry is not managed yet). */
export function planNeedsStytch(
  entries: readonly PlannedEntry[],
  registry: readonly ClientRegistration[],
): boolean {
  const byName = new Set(registry.map((registration) => registration.name));
  const byId = new Set(registry.map((registration) => registration.clientId));
  return entries.some(
    ({ spec }) => !(spec.clientId !== undefined ? byId.has(spec.clientId) : byName.has(spec.name)),
  );
}

/** The registration an applied entry leads to, minus what only execution knows. */
export function desiredRegistrationFields(spec: ClientSpec): Pick<
  ClientRegistration,
  'name' | 'clientKind' | 'expectedConsumers' | 'policy'
> & {
  readonly schedule?: Omit<NonNullable<ClientRegistration['schedule']>, 'scheduleName'>;
} {
  const { expectedConsumers = [], ...overrides } = spec.policy as ClientPolicy;
  return {
    name: spec.name,
    clientKind: spec.kind,
    expectedConsumers: [...expectedConsumers],
    ...(Object.keys(overrides).length === 0
      ? {}
      : { policy: { expectedConsumers: [...expectedConsumers], ...overrides } }),
    ...(spec.schedule === undefined
      ? {}
      : {
          schedule: {
            expression: spec.schedule.expression,
            timeZone: spec.schedule.timeZone,
            ...(spec.schedule.flexibleWindowMinutes === undefined
              ? {}
              : { flexibleWindowMinutes: spec.schedule.flexibleWindowMinutes }),
          },
        }),
  };
}

/** How `current` differs from `spec` (order fixed: scopes, schedule, policy, name). */
export function changesOf(spec: ClientSpec, current: ClientRegistration): ClientChange[] {
  const desired = desiredRegistrationFields(spec);
  const changes: ClientChange[] = [];
  if (spec.scopes !== undefined && !sameList(spec.scopes, current.scopes)) changes.push('scopes');
  const currentSchedule =
    current.schedule === undefined
      ? undefined
      : {
          expression: current.schedule.expression,
          timeZone: current.schedule.timeZone,
          ...(current.schedule.flexibleWindowMinutes === undefined
            ? {}
            : { flexibleWindowMinutes: current.schedule.flexibleWindowMinutes }),
        };
  if (canonical(desired.schedule) !== canonical(currentSchedule)) changes.push('schedule');
  const currentPolicy = { ...current.policy, expectedConsumers: current.expectedConsumers };
  const desiredPolicy = { ...desired.policy, expectedConsumers: desired.expectedConsumers };
  if (canonical(desiredPolicy) !== canonical(currentPolicy)) changes.push('policy');
  if (spec.name !== current.name) changes.push('name');
  return changes;
}

/**
 * Plans `entries` against the facts. Each entry matches the registration of its client id, else
 * of its name; an entry that matches none creates (no client id) or adopts (a client id). With
 * `prune`, a registration no entry matches is removed when `apply` made it; `register`'s are kept.
 * First every scheduled entry gets its flexible window (scheduleSpread.ts): the plan applies that.
 */
export function planApply(
  fileEntries: readonly PlannedEntry[],
  facts: ApplyFacts,
  options: {
    readonly prune: boolean;
    /**
     * The Stytch budget the schedules' windows are sized for (scheduleSpread.ts).
     * @default DEFAULT_STYTCH_REQUESTS_PER_SECOND
     */
    readonly stytchRequestsPerSecond?: number;
  },
): ApplyPlan {
  const spread = spreadSchedules(
    fileEntries,
    options.stytchRequestsPerSecond ?? DEFAULT_STYTCH_REQUESTS_PER_SECOND,
  );
  const entries = spread.entries;
  const context: PlanContext = {
    byId: new Map(facts.registry.map((registration) => [registration.clientId, registration])),
    byName: new Map(facts.registry.map((registration) => [registration.name, registration])),
    stytch: facts.stytch ?? new Map<string, StytchClientFact>(),
    stytchByName: m2mClientsByName(facts.stytch),
    storedSecrets: facts.storedSecrets,
  };
  const actions: ApplyAction[] = [];
  const problems: PlanProblem[] = [...spread.problems];
  const matched = new Set<string>();
  for (const entry of entries) {
    const planned = planEntry(entry, context);
    if (typeof planned === 'string') {
      problems.push({ line: entry.line, index: entry.index, message: planned });
      continue;
    }
    if (planned.action === 'change' || planned.action === 'unchanged') matched.add(planned.current.clientId);
    actions.push(planned);
  }
  for (const registration of facts.registry) {
    if (matched.has(registration.clientId)) continue;
    if ((registration.registrar ?? 'register') !== 'apply') {
      actions.push({ action: 'keep', current: registration, why: 'registered' });
    } else if (options.prune) {
      actions.push({ action: 'remove', current: registration });
    } else {
      actions.push({ action: 'keep', current: registration, why: 'no-prune' });
    }
  }
  return { actions, problems: problems.sort((a, b) => a.index - b.index) };
}

/** What planning one entry looks up. */
interface PlanContext {
  readonly byId: ReadonlyMap<string, ClientRegistration>;
  readonly byName: ReadonlyMap<string, ClientRegistration>;
  readonly stytch: ReadonlyMap<string, StytchClientFact>;
  readonly stytchByName: ReadonlyMap<string, readonly StytchClientFact[]>;
  readonly storedSecrets: ReadonlySet<string>;
}

function m2mClientsByName(
  stytch: ReadonlyMap<string, StytchClientFact> | undefined,
): Map<string, StytchClientFact[]> {
  const byName = new Map<string, StytchClientFact[]>();
  for (const client of stytch?.values() ?? []) {
    if (client.kind !== 'm2m') continue;
    byName.set(client.name, [...(byName.get(client.name) ?? []), client]);
  }
  return byName;
}

/** One entry's action, or why it cannot have one. */
function planEntry(entry: PlannedEntry, context: PlanContext): ApplyAction | string {
  const { spec } = entry;
  const registeredById = spec.clientId === undefined ? undefined : context.byId.get(spec.clientId);
  const registeredByName = context.byName.get(spec.name);
  const current = registeredById ?? (spec.clientId === undefined ? registeredByName : undefined);
  if (registeredByName !== undefined && registeredByName.clientId !== current?.clientId) {
    return `name "${spec.name}" is managed as ${registeredByName.clientId}, not ${spec.clientId}: one name is one client`;
  }
  if (current !== undefined) {
    if (current.clientKind !== spec.kind) {
      return `kind: ${current.clientId} is managed as ${current.clientKind}, not ${spec.kind}`;
    }
    const changes = changesOf(spec, current);
    return changes.length === 0
      ? { action: 'unchanged', entry, current }
      : { action: 'change', entry, current, changes };
  }
  return spec.clientId === undefined ? planCreate(entry, context) : planAdopt(entry, spec.clientId, context);
}

/** An entry with a client id that the registry does not know: adopt the client Stytch has. */
function planAdopt(entry: PlannedEntry, clientId: string, context: PlanContext): ApplyAction | string {
  const { spec } = entry;
  const found = context.stytch.get(clientId);
  if (found === undefined) {
    return `clientId: Stytch has no ${spec.kind === 'm2m' ? 'M2M client' : 'Connected App'} ${clientId}`;
  }
  if (found.kind !== spec.kind) {
    return `kind: ${clientId} is ${found.kind === 'm2m' ? 'an M2M client' : 'a Connected App'} at Stytch`;
  }
  if (found.isPublic === true) {
    return `clientId: ${clientId} is a public Connected App: it has no secret to rotate`;
  }
  if (!context.storedSecrets.has(clientId) && spec.resecret !== true) {
    return (
      `clientId: Secrets Manager holds no secret for ${clientId}: store its current secret first ` +
      '(docs/fleet.md), or set resecret: true to give it a new one (what uses the old one stops working)'
    );
  }
  if (spec.resecret === true && spec.kind === 'connected_app') {
    return 'resecret: a Connected App is adopted with the secret Secrets Manager holds';
  }
  return {
    action: 'adopt',
    entry,
    clientId,
    resecret: spec.resecret === true,
    setScopes: spec.scopes !== undefined && !sameList(spec.scopes, found.scopes),
  };
}

/** An entry without a client id that the registry does not know: create it, or recover an orphan. */
function planCreate(entry: PlannedEntry, context: PlanContext): ApplyAction | string {
  const { spec } = entry;
  const named = context.stytchByName.get(spec.name) ?? [];
  if (named.length > 1) {
    return `name: Stytch has ${named.length} M2M clients named "${spec.name}": adopt one by clientId`;
  }
  const orphan = named[0];
  if (orphan === undefined) return { action: 'create', entry };
  if (!orphan.managedByRotator) {
    return (
      `name: Stytch already has an M2M client named "${spec.name}" (${orphan.clientId}) that the rotator did not ` +
      'create: adopt it with clientId, or choose another name'
    );
  }
  return {
    action: 'create',
    entry,
    recoverClientId: orphan.clientId,
    secretStored: context.storedSecrets.has(orphan.clientId),
  };
}

/** How many actions of each kind: what the plan's summary line prints. */
export function planCounts(plan: ApplyPlan): Record<ApplyAction['action'], number> {
  const counts = { create: 0, adopt: 0, change: 0, unchanged: 0, remove: 0, keep: 0 };
  for (const action of plan.actions) counts[action.action] += 1;
  return counts;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return canonical([...a].sort()) === canonical([...b].sort());
}

/** JSON with sorted keys: equal values give equal text whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}
