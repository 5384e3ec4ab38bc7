import type { Command } from 'commander';
import type { RotationRecord } from '#core/ports.js';
import type { CommandContext } from '../exec.js';
import type { CliIo } from '../io.js';
import {
  addResourceOptions,
  masked,
  parseClientId,
  type ResourceFlags,
  resolveResource,
  usageError,
  withAws,
} from '../resources.js';
import { EXIT_CODES_HELP, oneLine } from './rotate.js';

interface HistoryFlags extends ResourceFlags {
  readonly limit?: string;
  readonly json?: boolean;
}

/** One rotation as `history` shows it: the ledger item without the task token. */
export interface RotationView {
  readonly rotationId: string;
  readonly executionArn: string;
  readonly trigger: string;
  readonly requestedBy?: string;
  readonly reason?: string;
  readonly status: string;
  readonly outcomeReason?: string;
  readonly error?: { readonly name: string; readonly message: string };
  readonly startedAt?: string;
  readonly deadline?: string;
  readonly durationMs?: number;
  /** Each step's timestamp, in order, with ms since the start. */
  readonly steps: readonly { readonly name: string; readonly at: string; readonly sinceStartMs: number }[];
  readonly previousSecret?: string;
  readonly pendingSecret?: string;
  readonly expectedConsumers: readonly string[];
  readonly reports: RotationRecord['reports'];
}

/** Registers `rotator history`. */
export function registerHistoryCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('history')
    .summary("show a client's rotations from the ledger, newest first")
    .description(
      "Show <clientId>'s rotations from the ledger, newest first: trigger, who asked and why, the outcome, " +
        'step timings and what each consumer reported.',
    )
    .argument('<clientId>', 'the managed Stytch client id')
    .option('--limit <n>', 'at most this many rotations, 1-1000 (default: 20)')
    .option(
      '--json',
      'print {clientId, rotations:[{rotationId, executionArn, trigger, requestedBy?, reason?, status, ' +
        'outcomeReason?, error?, startedAt, deadline?, durationMs?, steps:[{name, at, sinceStartMs}], ' +
        'previousSecret?:"…abcd", pendingSecret?, expectedConsumers, reports}]}',
    );
  addResourceOptions(command, ['table']);
  command.addHelpText('after', EXIT_CODES_HELP);
  command.action(async (clientId: string, flags: HistoryFlags) => {
    await history(context.io, parseClientId(clientId), flags);
  });
}

async function history(io: CliIo, clientId: string, flags: HistoryFlags): Promise<void> {
  const limitText = flags.limit ?? '20';
  const limit = /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
    throw usageError(`--limit must be an integer from 1 to 1000 (got "${limitText}")`);
  }
  const table = resolveResource('table', flags, io);
  const rotations = await withAws(io, async (aws) =>
    (await aws.ledger(table).listRotations(clientId, limit)).map(view),
  );
  if (flags.json === true) {
    io.stdout.write(`${JSON.stringify({ clientId, rotations })}\n`);
    return;
  }
  if (rotations.length === 0) {
    io.stdout.write(`No rotations of ${clientId} in the ledger\n`);
    return;
  }
  for (const r of rotations) io.stdout.write(block(r));
}

/** Everything of a record but the task token (and secrets only as `…abcd`). */
export function view(record: RotationRecord): RotationView {
  const started = Date.parse(record.steps.started ?? '');
  const steps = Object.entries(record.steps)
    .map(([name, at]) => ({ name, at, sinceStartMs: Math.max(0, Date.parse(at) - started) }))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const ended = record.steps.completed ?? record.steps.cancelled ?? record.steps.failed;
  return {
    rotationId: record.rotationId,
    executionArn: record.executionId,
    trigger: record.trigger,
    ...(record.requestedBy === undefined ? {} : { requestedBy: record.requestedBy }),
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    status: record.status,
    ...(record.outcomeReason === undefined ? {} : { outcomeReason: record.outcomeReason }),
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.steps.started === undefined ? {} : { startedAt: record.steps.started }),
    ...(record.deadline === undefined ? {} : { deadline: record.deadline }),
    ...(ended === undefined ? {} : { durationMs: Math.max(0, Date.parse(ended) - started) }),
    steps,
    ...(record.previousLastFour === undefined ? {} : { previousSecret: masked(record.previousLastFour) }),
    ...(record.pendingLastFour === undefined ? {} : { pendingSecret: masked(record.pendingLastFour) }),
    expectedConsumers: record.expectedConsumers,
    reports: record.reports,
  };
}

function block(r: RotationView): string {
  const outcome = `${r.status}${r.outcomeReason === undefined ? '' : ` (${r.outcomeReason})`}`;
  const took = r.durationMs === undefined ? '' : ` in ${(r.durationMs / 1000).toFixed(2)}s`;
  const lines = [
    `${r.startedAt ?? '?'}  ${r.trigger}  ${outcome}${took}  rotation ${r.rotationId}`,
    `  by ${r.requestedBy ?? '-'}${r.reason === undefined ? '' : `: ${oneLine(r.reason)}`}`,
    `  secret ${r.previousSecret ?? '-'} -> ${r.pendingSecret ?? '-'}`,
    `  steps ${r.steps.map((s) => `${s.name} +${s.sinceStartMs}ms`).join(', ')}`,
  ];
  if (r.error !== undefined) lines.push(`  error ${r.error.name}: ${oneLine(r.error.message)}`);
  const expected = r.expectedConsumers.length === 0 ? 'none expected' : r.expectedConsumers.join(', ');
  const reports = Object.entries(r.reports).map(
    ([consumer, report]) =>
      `${consumer} ${report.healthy ? 'healthy' : 'UNHEALTHY'}${report.detail === undefined ? '' : ` (${oneLine(report.detail)})`}`,
  );
  lines.push(`  consumers ${expected}; reports: ${reports.length === 0 ? 'none' : reports.join(', ')}`);
  return `${lines.join('\n')}\n\n`;
}
