import * as z from 'zod';
import { NoteSchema } from './model.js';
import type { RotationStatus } from './ports.js';
import type { ClientRegistration } from './registry.js';

/**
 * Fleet rotation (`rotator rotate --all | --selector <expr>`, `rotator emergency --all | --selector`):
 * which clients a selector picks, the fleet workflow's input, and a run's progress counted from the
 * rotation records it tagged. Pure: the CLI and the sandbox do the I/O.
 */

/** A fleet run's name, which is its execution's name and the tag on each of its rotation records. */
export const FleetRunNameSchema = z
  .string()
  .regex(/^fleet-[0-9A-Za-z-]{1,74}$/, 'must be fleet-<letters, digits, ->, up to 80 characters');

/** A Distributed Map runs at most 10,000 child executions at once. */
export const FLEET_MAX_CONCURRENCY = 10_000;

/** The fleet workflow's input (lib/constructs/FleetRotation.ts reads each field by path). */
export const FleetRunInputSchema = z.strictObject({
  selection: z.strictObject({
    bucket: z.string().min(3).max(63),
    key: z.string().min(1).max(1024),
    count: z.number().int().min(1),
  }),
  trigger: z.enum(['manual', 'leak']),
  reason: NoteSchema,
  requestedBy: NoteSchema,
  maxConcurrency: z.number().int().min(1).max(FLEET_MAX_CONCURRENCY),
  toleratedFailurePercentage: z.number().min(0).max(100),
});
export type FleetRunInput = z.infer<typeof FleetRunInputSchema>;

/**
 * Rotations in flight at once unless `--max-concurrency` says otherwise: enough to keep a
 * 100 requests/s Stytch budget busy (a rotation makes 4 requests over a few seconds), few
 * enough that a wrong selection is stopped before it has touched much of the fleet.
 */
export const DEFAULT_FLEET_CONCURRENCY = 100;
/**
 * Share of the clients whose rotation may fail (cancelled, refused, failed) before the run stops,
 * by trigger: a campaign stops at its first failure (a cancelled rotation means a service was not
 * ready, and the next ones may not be either); a leak emergency never stops killing leaked secrets.
 */
export const DEFAULT_TOLERATED_FAILURE_PERCENTAGE = { manual: 0, leak: 100 } as const;

/** The error a fleet item ends with when its client was not rotated (see the fleet workflow's Outcome). */
export const FLEET_ITEM_ERRORS = {
  cancelled: 'Rotation.Cancelled',
  refused: 'Rotation.Refused',
} as const;

/** Where the map writes its results in the fleet bucket. */
export const FLEET_RESULTS_PREFIX = 'results/';

/** The selection object of a run: a JSON array of `{clientId}`, the map's item reader input. */
export function fleetSelectionKey(runName: string): string {
  return `${FLEET_SELECTIONS_PREFIX}${runName}.json`;
}

/** Where the CLI writes the runs' selections in the fleet bucket. */
export const FLEET_SELECTIONS_PREFIX = 'selections/';

/** A new run's name: sortable by start time, unique by its random tail. */
export function newFleetRunName(now: Date, randomHex: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `fleet-${stamp}-${randomHex.slice(0, 8)}`;
}

// --- selectors ---------------------------------------------------------------------------------

/** The fields a selector may test, and what each is of a registration. */
const SELECTOR_FIELDS = {
  name: (client: ClientRegistration) => [client.name],
  id: (client: ClientRegistration) => [client.clientId],
  kind: (client: ClientRegistration) => [client.clientKind],
  consumer: (client: ClientRegistration) => client.expectedConsumers,
  scope: (client: ClientRegistration) => client.scopes,
  scheduled: (client: ClientRegistration) => [client.schedule === undefined ? 'false' : 'true'],
  registrar: (client: ClientRegistration) => [client.registrar ?? 'register'],
} as const;
export type SelectorField = keyof typeof SELECTOR_FIELDS;
export const SELECTOR_FIELD_NAMES = Object.keys(SELECTOR_FIELDS) as readonly SelectorField[];

/** One term of a selector: `field=pattern` (some value matches) or `field!=pattern` (none does). */
export interface SelectorTerm {
  readonly field: SelectorField;
  readonly negated: boolean;
  /** The pattern as written; `*` matches any run of characters. */
  readonly pattern: string;
}

/** A parsed selector: every term must hold (AND). */
export interface Selector {
  readonly terms: readonly SelectorTerm[];
}

/** A selector that could not be parsed: every problem, each naming its term. */
export class SelectorSyntaxError extends Error {
  public override readonly name = 'SelectorSyntaxError';
  public constructor(public readonly problems: readonly string[]) {
    super(`invalid selector: ${problems.join('; ')}`);
  }
}

const TERM = /^([a-z]+)\s*(!=|=)\s*([A-Za-z0-9._:/*-]{1,128})$/;

/**
 * Parses `field=pattern,field!=pattern,...` (kubectl's label selectors, with `*` wildcards), e.g.
 * `kind=m2m,consumer=billing-api,name!=legacy-*`. Throws a {@link SelectorSyntaxError} naming
 * every bad term.
 */
export function parseSelector(expression: string): Selector {
  const problems: string[] = [];
  const terms: SelectorTerm[] = [];
  const parts = expression.split(',').map((part) => part.trim());
  if (expression.trim() === '') problems.push('it is empty');
  else if (parts.length > 20) problems.push('at most 20 terms');
  else {
    for (const [index, part] of parts.entries()) {
      const match = TERM.exec(part);
      const shown = JSON.stringify(part.slice(0, 60));
      if (match === null) {
        problems.push(
          `term ${index + 1} ${shown} is not field=value or field!=value (value: letters, digits, . _ : / * -)`,
        );
        continue;
      }
      const [, field, operator, pattern] = match as unknown as [string, string, string, string];
      if (!(field in SELECTOR_FIELDS)) {
        problems.push(
          `term ${index + 1} ${shown}: unknown field "${field}" (fields: ${SELECTOR_FIELD_NAMES.join(', ')})`,
        );
        continue;
      }
      terms.push({ field: field as SelectorField, negated: operator === '!=', pattern });
    }
  }
  if (problems.length > 0) throw new SelectorSyntaxError(problems);
  return { terms };
}

/** Whether `client` satisfies every term of `selector`. */
export function selects(selector: Selector, client: ClientRegistration): boolean {
  return selector.terms.every((term) => {
    const matcher = globMatcher(term.pattern);
    const any = SELECTOR_FIELDS[term.field](client).some((value) => matcher(value));
    return term.negated ? !any : any;
  });
}

function globMatcher(pattern: string): (value: string) => boolean {
  if (!pattern.includes('*')) return (value) => value === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${source}$`);
  return (value) => regex.test(value);
}

// --- progress ----------------------------------------------------------------------------------

/** What the progress count needs of a rotation record the run tagged. */
export interface FleetRotationSummary {
  readonly clientId: string;
  readonly status: RotationStatus;
}

/** A run's progress, from its rotation records (a client counts once, by its latest record). */
export interface FleetProgress {
  /** Clients the run selected. */
  readonly selected: number;
  /** Rotated: the new secret is current. */
  readonly rotated: number;
  /** Cancelled: the secret is unchanged (a consumer was not healthy on the new one, or an operator). */
  readonly cancelled: number;
  /** Ended failed (a fault that needed a human, or the reconciler). */
  readonly failed: number;
  /** Started at Stytch, not yet waiting for consumers. */
  readonly inFlight: number;
  /** Waiting for their consumers' reports. */
  readonly waitingForConsumers: number;
  /** Selected, with no rotation record yet: queued, waiting for budget, or refused before starting. */
  readonly notStarted: number;
}

/** Counts a run's progress from its records; `selected` is the selection's size. */
export function fleetProgress(selected: number, records: readonly FleetRotationSummary[]): FleetProgress {
  const byClient = new Map<string, RotationStatus>();
  for (const record of records) {
    const seen = byClient.get(record.clientId);
    // A live record outranks an ended one of the same client (a retry after a refusal).
    if (seen === undefined || seen === 'failed' || seen === 'cancelled')
      byClient.set(record.clientId, record.status);
  }
  const count = (status: RotationStatus) => [...byClient.values()].filter((s) => s === status).length;
  const started = byClient.size;
  return {
    selected,
    rotated: count('completed'),
    cancelled: count('cancelled'),
    failed: count('failed'),
    inFlight: count('started'),
    waitingForConsumers: count('pending'),
    notStarted: Math.max(0, selected - started),
  };
}
