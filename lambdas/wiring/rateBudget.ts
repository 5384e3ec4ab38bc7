import type { FunctionClients } from '#adapters/aws/clients.js';
import { DynamoRateBudgetStore } from '#adapters/aws/DynamoRateBudgetStore.js';
import {
  BUDGET_NAMES,
  type BudgetCounts,
  RateBudget,
  type RateBudgetOptions,
  type RateBudgetSettings,
  rateBudgetLimits,
} from '#core/rateBudget.js';

/** Where the shared budgets are counted and how large they are. */
export interface SharedRateBudgetOptions extends RateBudgetSettings {
  readonly dynamoDocument: FunctionClients['dynamoDocument'];
  readonly tableName: string;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default - a setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default 2_000 (see RateBudgetOptions.maxInlineWaitMs) */
  readonly maxInlineWaitMs?: number;
  /** @default - none (see RateBudgetOptions.bundle) */
  readonly bundle?: BudgetCounts;
  /** @default - never urgent (see RateBudgetOptions.urgent) */
  readonly urgent?: () => boolean;
  /** @default - one holding for the process (see RateBudgetOptions.heldCredits) */
  readonly heldCredits?: RateBudgetOptions['heldCredits'];
}

/**
 * What a rotation step buys at its first Stytch request or secret write: StartRotation makes one
 * management request (rotate/start), one token request (the self-test) and one or two writes
 * (AWSPENDING, a stale label's removal); CompleteRotation one of each kind and two writes (the
 * labels); CancelRotation fewer. One purchase a step instead of one a request.
 */
export const ROTATION_STEP_BUNDLE: BudgetCounts = {
  [BUDGET_NAMES.stytchManagement]: 1,
  [BUDGET_NAMES.stytchToken]: 1,
  [BUDGET_NAMES.secretsManagerWrites]: 2,
};

const sleepFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The deployment's shared budgets, counted in the ledger table (one item per budget and window). */
export function sharedRateBudget(options: SharedRateBudgetOptions): RateBudget {
  return new RateBudget({
    store: new DynamoRateBudgetStore({ client: options.dynamoDocument, tableName: options.tableName }),
    limits: rateBudgetLimits(options),
    now: options.now ?? Date.now,
    sleep: options.sleep ?? sleepFor,
    ...(options.maxInlineWaitMs === undefined ? {} : { maxInlineWaitMs: options.maxInlineWaitMs }),
    ...(options.bundle === undefined ? {} : { bundle: options.bundle }),
    ...(options.urgent === undefined ? {} : { urgent: options.urgent }),
    ...(options.heldCredits === undefined ? {} : { heldCredits: options.heldCredits }),
  });
}
