/**
 * What a world observes of its functions: their log lines, every event they publish, every next
 * secret Stytch hands them (for leak scans), and everything they wrote outside the secret store.
 */
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { StepDeps, StepLogger } from '#core/deps.js';
import type { RotatorEvent } from '#core/events.js';
import type { Secret } from '#core/secret.js';
import type { LocalExecutor } from '../localExecutor/index.js';
import type { StytchEmulator } from '../stytch-emulator/index.js';

/** A logger writing each line as the JSON a function logs, into `lines`. */
export function capturingLogger(lines: string[]): StepLogger {
  return {
    info: (message: string, attributes: Record<string, unknown> = {}) =>
      lines.push(JSON.stringify({ level: 'INFO', message, ...attributes })),
    warn: (message: string, attributes: Record<string, unknown> = {}) =>
      lines.push(JSON.stringify({ level: 'WARN', message, ...attributes })),
  };
}

/** Where {@link observeStepDeps} records what it sees. */
export interface StepObservations {
  /** Every next secret Stytch hands the workflow is appended. */
  readonly secrets: Secret[];
  /** Every event published (after it was sent) is appended. */
  readonly events: RotatorEvent[];
  /** Called with each event published, after it is appended. */
  readonly onEvent?: (event: RotatorEvent) => void;
}

/** `deps` with Stytch's `startRotation` and the event publisher recording into `observations`. */
export function observeStepDeps(deps: StepDeps, observations: StepObservations): StepDeps {
  return {
    ...deps,
    stytch: {
      ...deps.stytch,
      startRotation: async (client) => {
        const started = await deps.stytch.startRotation(client);
        observations.secrets.push(started.nextSecret);
        return started;
      },
    },
    events: {
      publish: async (...published: RotatorEvent[]) => {
        await deps.events.publish(...published);
        for (const event of published) {
          observations.events.push(event);
          observations.onEvent?.(event);
        }
      },
    },
  };
}

/** One text a leak scan reads, and where it came from. */
export interface Capture {
  readonly source: string;
  readonly text: string;
}

/** The parts of a world {@link worldCaptures} reads. */
export interface CapturedWorld {
  readonly functionLogs: readonly string[];
  readonly events: readonly RotatorEvent[];
  readonly template: unknown;
  readonly executor: Pick<LocalExecutor, 'listExecutions' | 'describeExecution' | 'getExecutionHistory'>;
  readonly documents: Pick<DynamoDBDocumentClient, 'send'>;
  readonly tableName: string;
  readonly emulator: Pick<StytchEmulator, 'requestLog'> | undefined;
}

/**
 * Everything the world wrote outside the secret store, as text: function logs, events, the
 * template, then `more` (what only this world has), every execution's description and history
 * (state inputs and outputs), every ledger item, and the Stytch emulator's request log.
 */
export async function worldCaptures(world: CapturedWorld, more: readonly Capture[] = []): Promise<Capture[]> {
  const captured: Capture[] = [
    { source: 'function logs', text: world.functionLogs.join('\n') },
    { source: 'events', text: JSON.stringify(world.events) },
    { source: 'template', text: JSON.stringify(world.template) },
    ...more,
  ];
  for (const execution of world.executor.listExecutions()) {
    captured.push({
      source: `execution ${execution.name}`,
      text: JSON.stringify([
        world.executor.describeExecution(execution.executionArn),
        world.executor.getExecutionHistory(execution.executionArn).events,
      ]),
    });
  }
  captured.push({ source: 'ledger items', text: JSON.stringify(await ledgerItems(world)) });
  if (world.emulator !== undefined) {
    captured.push({ source: 'Stytch request log', text: JSON.stringify(world.emulator.requestLog()) });
  }
  return captured;
}

/** Every item of the ledger table, page after page. */
async function ledgerItems(world: Pick<CapturedWorld, 'documents' | 'tableName'>): Promise<unknown[]> {
  const items: unknown[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await world.documents.send(
      new ScanCommand({ TableName: world.tableName, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}
