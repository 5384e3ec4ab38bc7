import type { Command } from 'commander';
import { SfnExecutions } from '#adapters/aws/SfnExecutions.js';
import { SfnTaskCallbacks } from '#adapters/aws/SfnTaskCallbacks.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../errors.js';
import { activeRotation, executionStatus, followExecution, writeResult } from '../executions.js';
import type { CliIo } from '../io.js';
import { assertManaged } from '../managed.js';
import { EXIT_CODES_HELP } from '../output.js';
import {
  addResourceOptions,
  parseClientId,
  type ResourceFlags,
  requestedBy,
  resolveResource,
  resolveSecretPrefix,
  usageError,
  withAws,
} from '../resources.js';
import { forTerminal, jsonLine } from '../terminalText.js';

interface CancelFlags extends ResourceFlags {
  readonly reason?: string;
  readonly wait?: boolean;
  readonly json?: boolean;
}

/** The error the AwaitConsumers Catch routes to `Cancel: operator`. */
export const OPERATOR_CANCELLED = 'OperatorCancelled';

/** Registers `rotator cancel`. */
export function registerCancelCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('cancel')
    .summary("cancel a client's rotation while it waits for consumers")
    .description(
      "Cancel <clientId>'s rotation in progress. It must be waiting for consumers (AwaitConsumers): the " +
        'wait is answered with OperatorCancelled, so the workflow removes AWSPENDING (readers keep the ' +
        'current secret) and then cancels at Stytch. By default it then follows the execution to its end.',
    )
    .argument('<clientId>', 'the managed Stytch client id')
    .option('--reason <text>', 'why (kept in the ledger as the cancellation detail; 1-500 characters)')
    .option('--wait', 'follow the execution until it ends (default)')
    .option('--no-wait', 'return once the cancellation is sent')
    .option(
      '--json',
      'print one JSON document: {executionArn, rotationId, clientId, outcome, reason?, detail?, ' +
        'durationMs, steps:[{name, atMs, ms}], reports} (with --no-wait: {executionArn, rotationId, sent: true})',
    );
  addResourceOptions(command, ['table', 'secretPrefix']);
  command.addHelpText(
    'after',
    `${EXIT_CODES_HELP}\nHere 0 means the rotation ended cancelled (or, with --no-wait, that the\n` +
      'cancellation was sent); 1 also when no rotation is in progress, or when it is at another step\n' +
      '(retry in a moment); 2 also for a client the deployment does not manage (no secret\n' +
      '<prefix>/<clientId>), before anything is sent.\n' +
      '\nExample:\n  $ rotator cancel m2m-client-test-billing-worker --reason "billing-api deploy frozen"',
  );
  command.action(async (clientId: string, flags: CancelFlags) => {
    context.setExitCode(await cancel(context.io, clientId, flags));
  });
}

async function cancel(io: CliIo, rawClientId: string, flags: CancelFlags): Promise<number> {
  const clientId = parseClientId(rawClientId);
  const reason = flags.reason?.trim();
  if (reason !== undefined && (reason.length < 1 || reason.length > 500)) {
    throw usageError('--reason must be 1 to 500 characters');
  }
  const table = resolveResource('table', flags, io);
  const prefix = resolveSecretPrefix(flags, io);
  const json = flags.json === true;

  return withAws(io, async (aws) => {
    // "No rotation in progress" would send a mistyped id looking for a rotation that never was.
    await assertManaged(aws, { clientId, prefix });
    const ledger = aws.ledger(table);
    const record = await activeRotation(aws, clientId, table);
    if (record === null) return failed(io, `no rotation in progress for ${clientId}`);
    if (record === 'starting')
      return failed(io, 'not at a cancellable step (StartRotation): retry in a moment');
    const executionArn = record.executionId;
    // The ledger's fields are printed escaped: the record is not only ours to write.
    const rotationId = forTerminal(record.rotationId, 100);
    // Decided first: a rotation that expects no consumer is decided by its start and keeps no
    // token, and waiting a moment would not make it cancellable.
    if (record.decidedAt !== undefined) {
      return failed(io, `the wait of rotation ${rotationId} is already decided; it is finishing`);
    }
    if (record.taskToken === undefined) {
      const step = await new SfnExecutions({ client: aws.sfn }).currentState(executionArn);
      return failed(
        io,
        `not at a cancellable step (${forTerminal(step ?? record.status, 100)}): retry in a moment`,
      );
    }
    // Its execution was stopped or failed and nothing released the lock yet (the reconciler
    // normally does at once): there is no task left to answer.
    const execution = await executionStatus(aws, executionArn);
    if (execution !== 'RUNNING') {
      return failed(
        io,
        `rotation ${rotationId} is not running (its execution is ${execution ?? 'gone'}): ` +
          `\`rotator repair ${clientId} --apply\` makes the client whole and frees it`,
      );
    }
    const cause = `Cancelled by ${requestedBy(io)}${reason === undefined ? '' : `: ${reason}`}`;
    // Claim the decision, so the health aggregator cannot answer the same token too.
    const claimed = await ledger.claimDecision(clientId, record.rotationId, new Date().toISOString(), {
      kind: 'fail',
      error: OPERATOR_CANCELLED,
      cause,
    });
    if (!claimed) return failed(io, `the wait of rotation ${rotationId} was just decided; it is finishing`);
    const gone = await new SfnTaskCallbacks({ client: aws.sfn }).sendFailureOrGone(
      record.taskToken,
      OPERATOR_CANCELLED,
      cause,
    );
    if (gone !== null) {
      return failed(
        io,
        `rotation ${rotationId} is no longer waiting (${forTerminal(gone, 100)}); it is finishing`,
      );
    }
    await ledger.markAnswered(clientId, record.rotationId, new Date().toISOString());
    const wait = flags.wait ?? true;
    if (!wait) {
      io.stdout.write(
        json
          ? jsonLine({ executionArn, rotationId: record.rotationId, sent: true })
          : `Cancellation sent: ${forTerminal(executionArn)}\n`,
      );
      return ExitCode.ok;
    }
    if (!json) io.stdout.write(`Cancelling ${clientId}: ${forTerminal(executionArn)}\n`);
    const result = await followExecution(aws, io, { executionArn, clientId, live: !json, ledger });
    writeResult(io, result, { clientId, json });
    return result.outcome === 'cancelled' ? ExitCode.ok : ExitCode.failed;
  });
}

function failed(io: CliIo, message: string): number {
  io.stderr.write(`rotator: ${message}\n`);
  return ExitCode.failed;
}
