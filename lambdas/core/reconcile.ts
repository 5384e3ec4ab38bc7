import type { StepDeps } from './deps.js';
import type { ClientRef, SecretVersions, StytchSecretState } from './ports.js';
import { NotRotatingError, RepairIncompleteError } from './rotationErrors.js';

/**
 * The one reconciliation rule. Whoever finds a client whose rotation did not end cleanly (a
 * retried StartRotation, the reconciler of an execution that failed or was stopped, an operator's
 * `rotator repair`) asks this rule what to do, so every path makes the same, safe move.
 *
 * The authority on what readers use is Secrets Manager's AWSCURRENT; the authority on what
 * authenticates is Stytch. The rule never cancels at Stytch a secret that is AWSCURRENT (that
 * would revoke what every consumer reads) and never drops a pending secret a running rotation owns.
 */

/** One labelled version, as the rule sees it: its id and the last four characters of its secret. */
export interface ObservedVersion {
  readonly versionId: string;
  readonly lastFour: string;
}

/** What Stytch and Secrets Manager say of one client (never a secret value). */
export interface ClientObservation {
  readonly stytch: StytchSecretState;
  readonly current: ObservedVersion | null;
  readonly pending: ObservedVersion | null;
}

/** One move, in the order it must be made. */
export type RepairAction =
  /** Stytch's next secret already is AWSCURRENT: finish the rotation at Stytch (forward only). */
  | { readonly kind: 'complete_at_stytch' }
  /** Stytch's next secret is held by nothing readers use (lost, or a rotation nobody will finish). */
  | { readonly kind: 'cancel_at_stytch' }
  /** An AWSPENDING Stytch no longer (or never will) honour: readers must not pick it up. */
  | { readonly kind: 'drop_pending'; readonly versionId: string }
  /** Stytch already completed to the AWSPENDING secret: make it AWSCURRENT, as Stytch has it. */
  | { readonly kind: 'promote_pending'; readonly versionId: string };

/**
 * - `consistent`: nothing to do;
 * - `repairable`: `actions` make the client whole;
 * - `needs_operator`: AWSCURRENT does not authenticate and we do not hold a secret that does
 *   (a rotation, `rotator emergency`, issues a fresh one); nothing is done automatically.
 */
export type RepairVerdict = 'consistent' | 'repairable' | 'needs_operator';

/** The rule's answer. */
export interface RepairPlan {
  readonly verdict: RepairVerdict;
  readonly actions: readonly RepairAction[];
  /** What was found, in words an operator reads (last four characters and version ids only). */
  readonly finding: string;
}

/** What the caller knows that the observation does not say. */
export interface RepairContext {
  /** The pending version of a rotation that is still running: left alone, it is not stale. */
  readonly runningPendingVersionId?: string | undefined;
}

const lf = (lastFour: string | null | undefined): string => (lastFour == null ? 'none' : `…${lastFour}`);

/** Decides the one safe move for `observed`. Pure: no I/O, no clock. */
export function planRepair(observed: ClientObservation, context: RepairContext = {}): RepairPlan {
  const { stytch, current, pending } = observed;
  if (current === null) {
    return {
      verdict: 'needs_operator',
      actions: [],
      finding: 'the secret has no AWSCURRENT version: the client is not enrolled',
    };
  }
  const state = `Stytch current ${lf(stytch.currentLastFour)}, next ${lf(stytch.nextLastFour)}; AWSCURRENT ${lf(current.lastFour)} (${current.versionId}), AWSPENDING ${pending === null ? 'none' : `${lf(pending.lastFour)} (${pending.versionId})`}`;
  const stalePending = pending !== null && pending.versionId !== current.versionId ? pending : null;

  if (stytch.nextLastFour !== null) {
    if (stytch.nextLastFour === current.lastFour) {
      // Readers already use Stytch's next secret: the only way out is forward.
      return {
        verdict: 'repairable',
        actions: [
          ...(stalePending === null
            ? []
            : [{ kind: 'drop_pending', versionId: stalePending.versionId } as const]),
          { kind: 'complete_at_stytch' },
        ],
        finding: `${state}: AWSCURRENT is Stytch's next secret, so the rotation must complete at Stytch`,
      };
    }
    if (stytch.currentLastFour === current.lastFour) {
      if (pending !== null && pending.lastFour === stytch.nextLastFour) {
        if (pending.versionId === context.runningPendingVersionId) {
          return { verdict: 'consistent', actions: [], finding: `${state}: a running rotation owns it` };
        }
        return {
          verdict: 'repairable',
          actions: [{ kind: 'drop_pending', versionId: pending.versionId }, { kind: 'cancel_at_stytch' }],
          finding: `${state}: a rotation nobody will finish; readers fall back to AWSCURRENT, then Stytch cancels`,
        };
      }
      return {
        verdict: 'repairable',
        actions: [
          ...(stalePending === null
            ? []
            : [{ kind: 'drop_pending', versionId: stalePending.versionId } as const]),
          { kind: 'cancel_at_stytch' },
        ],
        finding: `${state}: Stytch's next secret is held by nothing readers use (it was lost); Stytch cancels it`,
      };
    }
    return {
      verdict: 'needs_operator',
      actions: [],
      finding: `${state}: AWSCURRENT is neither Stytch's current nor its next secret`,
    };
  }

  if (stytch.currentLastFour === current.lastFour) {
    if (stalePending === null)
      return { verdict: 'consistent', actions: [], finding: `${state}: in agreement` };
    return {
      verdict: 'repairable',
      actions: [{ kind: 'drop_pending', versionId: stalePending.versionId }],
      finding: `${state}: AWSPENDING is not pending at Stytch (it never authenticates); it is dropped`,
    };
  }
  if (stalePending !== null && stalePending.lastFour === stytch.currentLastFour) {
    return {
      verdict: 'repairable',
      actions: [{ kind: 'promote_pending', versionId: stalePending.versionId }],
      finding: `${state}: Stytch completed to the AWSPENDING secret; it becomes AWSCURRENT`,
    };
  }
  return {
    verdict: 'needs_operator',
    actions: [],
    finding: `${state}: AWSCURRENT is not Stytch's secret and no stored secret is`,
  };
}

/** Reads what the rule needs: the labels, the labelled secrets' last four, Stytch's state. */
export async function observeClient(
  deps: Pick<StepDeps, 'secrets' | 'stytch'>,
  client: ClientRef,
): Promise<{
  readonly observed: ClientObservation;
  readonly versions: SecretVersions;
}> {
  const versions = await deps.secrets.versions(client);
  const current = versions.currentVersionId === null ? null : await deps.secrets.read(client, 'AWSCURRENT');
  const pending = versions.pendingVersionId === null ? null : await deps.secrets.read(client, 'AWSPENDING');
  const stytch = await deps.stytch.getSecretState(client);
  return {
    versions,
    observed: {
      stytch,
      current:
        current === null || versions.currentVersionId === null
          ? null
          : { versionId: versions.currentVersionId, lastFour: current.clientSecret.lastFour },
      pending:
        pending === null || versions.pendingVersionId === null
          ? null
          : { versionId: versions.pendingVersionId, lastFour: pending.clientSecret.lastFour },
    },
  };
}

/** Makes one move. Each is idempotent: a move someone else already made is not an error. */
export async function applyRepairAction(
  deps: Pick<StepDeps, 'secrets' | 'stytch'>,
  client: ClientRef,
  action: RepairAction,
): Promise<void> {
  switch (action.kind) {
    case 'drop_pending':
      await deps.secrets.removePending(client, action.versionId);
      return;
    case 'promote_pending':
      await deps.secrets.promotePending(client, action.versionId);
      return;
    case 'complete_at_stytch':
    case 'cancel_at_stytch':
      try {
        if (action.kind === 'complete_at_stytch') await deps.stytch.completeRotation(client);
        else await deps.stytch.cancelRotation(client);
      } catch (error) {
        // Someone else finished it meanwhile; the re-observation after the moves decides.
        if (!(error instanceof NotRotatingError)) throw error;
      }
      return;
  }
}

/** What {@link reconcileClient} did. */
export interface ReconcileResult {
  readonly plan: RepairPlan;
  /** The moves made (empty for a dry run, a consistent client, or one that needs an operator). */
  readonly applied: readonly RepairAction[];
}

/**
 * Observes, plans and (unless `dryRun`) makes the moves, then observes again: the client must now
 * be consistent, else {@link RepairIncompleteError} (retryable: Stytch may be slow to show a change).
 * A client that needs an operator is left untouched.
 */
export async function reconcileClient(
  deps: Pick<StepDeps, 'secrets' | 'stytch' | 'logger'>,
  client: ClientRef,
  options: RepairContext & { readonly dryRun?: boolean } = {},
): Promise<ReconcileResult> {
  const { observed } = await observeClient(deps, client);
  const plan = planRepair(observed, options);
  if (plan.verdict !== 'repairable' || options.dryRun === true) return { plan, applied: [] };
  deps.logger.warn('Reconciling client', {
    clientId: client.clientId,
    finding: plan.finding,
    actions: plan.actions.map((action) => action.kind),
  });
  for (const action of plan.actions) await applyRepairAction(deps, client, action);
  const after = planRepair((await observeClient(deps, client)).observed, options);
  if (after.verdict !== 'consistent') {
    throw new RepairIncompleteError(client.clientId, after.finding);
  }
  return { plan, applied: plan.actions };
}
