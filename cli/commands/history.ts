import type { Command } from 'commander';
import type { LeakReportRecord, RotationRecord } from '#core/ports.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';
import { rotationDurationMs } from '../executions.js';
import type { CliIo } from '../io.js';
import { assertManaged } from '../managed.js';
import { EXIT_CODES_HELP, seconds } from '../output.js';
import {
  addResourceOptions,
  masked,
  optionalSecretPrefix,
  parseClientId,
  type ResourceFlags,
  resolveResource,
  usageError,
  withAws,
} from '../resources.js';
import { forTerminal, jsonLine } from '../terminalText.js';

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
  /**
   * Health reports refused because their sender was not the consumer they named (never counted):
   * the latest few, oldest first, and how many there were in all. Absent when there were none.
   */
  readonly refusedReports?: NonNullable<RotationRecord['refusedReports']>;
  readonly refusedReportCount?: number;
}

/** One leak report as `history` shows it: the ledger's record without the client id (it is the query's). */
export type LeakReportView = Omit<LeakReportRecord, 'clientId'>;

/** Registers `rotator history`. */
export function registerHistoryCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('history')
    .summary("show a client's rotations and leak reports from the ledger, newest first")
    .description(
      "Show <clientId>'s rotations from the ledger, newest first: trigger, who asked and why, the outcome, " +
        'step timings and what each consumer reported. Then the leak reports the leak intake accepted for ' +
        'it: when, from which source, the reference, how the client was matched and what came of it.',
    )
    .argument('<clientId>', 'the managed Stytch client id')
    .option('--limit <n>', 'at most this many rotations, and this many leak reports, 1-1000 (default: 20)')
    .option(
      '--json',
      'print {clientId, rotations:[{rotationId, executionArn, trigger, requestedBy?, reason?, status, ' +
        'outcomeReason?, error?, startedAt, deadline?, durationMs?, steps:[{name, at, sinceStartMs}], ' +
        'previousSecret?:"…abcd", pendingSecret?, expectedConsumers, reports, refusedReports?:[{claimed, ' +
        'source, healthy, at}], refusedReportCount?}], leakReports:[{eventId, receivedAt, source, ' +
        'reference?, matchedBy, fingerprintPrefix?, leaked, outcome:{result, executionArn? | rotationId?, ' +
        'escalation?}}]}',
    );
  addResourceOptions(command, ['table', 'secretPrefix']);
  command.addHelpText(
    'after',
    `${EXIT_CODES_HELP}\n(A client with no rotations, no leak reports and no secret <prefix>/<clientId> is not managed by\n` +
      'this deployment: exit 2. --secret-prefix is needed only to tell that: a client with history\n' +
      'shows it without, even after it left the deployment.)\n\n' +
      'A "refused reports" line under a rotation lists health reports that were NOT counted: their\n' +
      "sender (the event source) was not the consumer they named. One from another consumer's source is\n" +
      'a misconfigured or compromised consumer; a made-up source is someone else on the bus.',
  );
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
  const prefix = optionalSecretPrefix(flags, io);
  const { rotations, leakReports } = await withAws(io, async (aws) => {
    const ledger = aws.ledger(table);
    const found = (await ledger.listRotations(clientId, limit)).map(view);
    const reports = (await ledger.listLeakReports(clientId, limit)).map(leakReportView);
    // A client that was rotated keeps its history even after it leaves the deployment; one with
    // none is most likely a mistyped id, and is not answered "no rotations" until we know it is ours.
    if (found.length === 0 && reports.length === 0) {
      if (prefix === undefined) {
        throw new CliError(
          `${clientId} has no rotations and no leak reports in the ledger; to tell whether this deployment ` +
            'manages it, set ROTATOR_SECRET_PREFIX or pass --secret-prefix (or --stack)',
          { code: 'missing_resource' },
        );
      }
      await assertManaged(aws, { clientId, prefix });
    }
    return { rotations: found, leakReports: reports };
  });
  if (flags.json === true) {
    io.stdout.write(jsonLine({ clientId, rotations, leakReports }));
    return;
  }
  if (rotations.length === 0) io.stdout.write(`No rotations of ${clientId} in the ledger\n`);
  for (const r of rotations) io.stdout.write(block(r));
  if (leakReports.length > 0) io.stdout.write(leakReportsBlock(leakReports));
}

/** A leak report without its client id (the whole output is one client's). */
export function leakReportView(report: LeakReportRecord): LeakReportView {
  const { clientId: _clientId, ...fields } = report;
  return fields;
}

/**
 * The "Leak reports" block: a line per report, and one for its reference. Source and reference
 * are whatever a scanner or a responder sent, so they (and every other ledger field) go through
 * {@link forTerminal}.
 */
function leakReportsBlock(reports: readonly LeakReportView[]): string {
  const t = (text: string, maxLength = 100): string => forTerminal(text, maxLength);
  const lines = reports.map((report) => {
    const matched =
      report.matchedBy === 'fingerprint' ? `fingerprint ${t(report.fingerprintPrefix ?? '?')}…` : 'client id';
    const outcome = report.outcome;
    const result =
      outcome.result === 'rotation_started'
        ? `rotation started (${t(outcome.executionArn, 500)})`
        : outcome.result === 'escalated'
          ? `escalated: rotation ${t(outcome.rotationId)} asked to ${t(outcome.escalation)}`
          : outcome.result === 'leak_rotation_running'
            ? `nothing changed: leak rotation ${t(outcome.rotationId)} already running`
            : 'already dead';
    return (
      `${t(report.receivedAt)}  ${t(report.source)}  ${t(report.leaked)} secret, matched by ${matched}  ` +
      `${result}${report.reference === undefined ? '' : `\n  reference ${forTerminal(report.reference, 500)}`}`
    );
  });
  return `Leak reports\n${lines.map((line) => `${line}\n`).join('')}\n`;
}

/** Everything of a record but the task token (and secrets only as `…abcd`). */
export function view(record: RotationRecord): RotationView {
  const started = Date.parse(record.steps.started ?? '');
  const steps = Object.entries(record.steps)
    .map(([name, at]) => ({ name, at, sinceStartMs: Math.max(0, Date.parse(at) - started) }))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const durationMs = rotationDurationMs(record.steps);
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
    ...(durationMs === undefined ? {} : { durationMs }),
    steps,
    ...(record.previousLastFour === undefined ? {} : { previousSecret: masked(record.previousLastFour) }),
    ...(record.pendingLastFour === undefined ? {} : { pendingSecret: masked(record.pendingLastFour) }),
    expectedConsumers: record.expectedConsumers,
    reports: record.reports,
    ...(record.refusedReports === undefined || record.refusedReports.length === 0
      ? {}
      : {
          refusedReports: record.refusedReports,
          refusedReportCount: record.refusedReportCount ?? record.refusedReports.length,
        }),
  };
}

/**
 * One rotation as text. Every field comes from the ledger, which outsiders write into (leak
 * sources, report details, error messages), so each goes through {@link forTerminal}.
 */
function block(r: RotationView): string {
  const t = (text: string, maxLength = 100): string => forTerminal(text, maxLength);
  const outcome = `${t(r.status)}${r.outcomeReason === undefined ? '' : ` (${t(r.outcomeReason)})`}`;
  const took = r.durationMs === undefined ? '' : ` in ${seconds(r.durationMs)}`;
  const lines = [
    `${t(r.startedAt ?? '?')}  ${t(r.trigger)}  ${outcome}${took}  rotation ${t(r.rotationId)}`,
    `  by ${t(r.requestedBy ?? '-', 500)}${r.reason === undefined ? '' : `: ${forTerminal(r.reason)}`}`,
    `  secret ${t(r.previousSecret ?? '-')} -> ${t(r.pendingSecret ?? '-')}`,
    `  steps ${r.steps.map((s) => `${t(s.name)} +${s.sinceStartMs}ms`).join(', ')}`,
  ];
  if (r.error !== undefined) lines.push(`  error ${t(r.error.name)}: ${forTerminal(r.error.message)}`);
  const expected =
    r.expectedConsumers.length === 0
      ? 'none expected'
      : r.expectedConsumers.map((name) => t(name)).join(', ');
  const reports = Object.entries(r.reports).map(
    ([consumer, report]) =>
      `${t(consumer)} ${report.healthy ? 'healthy' : 'UNHEALTHY'}${report.detail === undefined ? '' : ` (${forTerminal(report.detail)})`}`,
  );
  lines.push(`  consumers ${expected}; reports: ${reports.length === 0 ? 'none' : reports.join(', ')}`);
  if (r.refusedReports !== undefined) {
    const count = r.refusedReportCount ?? r.refusedReports.length;
    const latest = count > r.refusedReports.length ? `, the latest ${r.refusedReports.length}` : '';
    lines.push(`  refused reports (${count}, not counted: the sender was not the consumer named${latest})`);
    for (const refused of r.refusedReports) {
      lines.push(
        `    ${t(refused.at)}  claiming ${t(refused.claimed)} ${refused.healthy ? 'healthy' : 'UNHEALTHY'}  ` +
          `from source ${t(refused.source, 256)}`,
      );
    }
  }
  return `${lines.join('\n')}\n\n`;
}
