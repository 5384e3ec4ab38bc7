import type { Command } from 'commander';
import { defaultEventBridgeClient, eventBridgeReporter } from '#consumer/adapters/eventBridge.js';
import { defaultSecretsManagerClient } from '#consumer/adapters/secretsManager.js';
import {
  type HealthReportDetail,
  type HealthReporter,
  httpTokenEndpoint,
  SecretFormatError,
  SecretReadError,
  type SecretSource,
  type SecretVersion,
  type Stage,
  secretsManagerSource,
  type TokenEndpoint,
  TokenRequestError,
  TokenVerificationError,
} from '#consumer/index.js';
import { CONSUMER_PRINCIPAL_TAG, consumerSource } from '#core/events.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { forTerminal, jsonLine } from '../terminalText.js';

/** Raw flag values as commander hands them over (validated here, not by commander). */
interface CheckFlags {
  readonly secretId?: string;
  readonly consumer?: string;
  readonly eventBus?: string;
  readonly report?: boolean;
  readonly json?: boolean;
}

/** Validated settings of one `rotator consumer check` run. */
interface CheckSettings {
  readonly secretId: string;
  readonly consumer: string;
  readonly eventBusName: string;
  readonly report: boolean;
  readonly json: boolean;
}

/** What checking one version of the secret found. */
export interface VersionCheck {
  readonly stage: Stage;
  readonly versionId: string;
  readonly clientId: string;
  /** The last four characters of the version's client secret: all that is ever printed of it. */
  readonly secretLastFour: string;
  readonly ok: boolean;
  /** What worked, or why it did not (names the secret by its last four only). */
  readonly detail: string;
}

/** The `report` member of the JSON document (`null` without `--report`). */
export type ReportOutcome =
  | {
      readonly sent: true;
      readonly eventBusName: string;
      readonly source: string;
      readonly clientId: string;
      readonly rotationId: string;
      readonly pendingVersionId: string;
      readonly healthy: boolean;
    }
  | { readonly sent: false; readonly reason: string };

/** The JSON document `--json` prints (exactly one, on stdout). */
export interface CheckDocument {
  readonly secretId: string;
  readonly clientId: string;
  readonly consumer: string;
  /** True when every version present works (exit code 0). */
  readonly ok: boolean;
  readonly versions: readonly VersionCheck[];
  readonly report: ReportOutcome | null;
}

const CONSUMER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Secret names (letters, digits, `/_+=.@-`) and ARNs (add `:`). */
const SECRET_ID_PATTERN = /^[A-Za-z0-9/_+=.@:-]{1,2048}$/;
/** Event bus names (letters, digits, `/._-`) and ARNs. */
const EVENT_BUS_PATTERN = /^[A-Za-z0-9/._:-]{1,1600}$/;
const DEFAULT_EVENT_BUS = 'stytch-m2m-rotator';
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OK_DETAIL = 'minted a token that verified against the JWKS';

/**
 * Registers `rotator consumer check`: the health check of a managed client's secret for services
 * that do not use the Node consumer library. Mints and verifies a token with `AWSCURRENT` and, when
 * a rotation is in progress, `AWSPENDING`; with `--report` it answers the waiting rotation for one
 * consumer.
 */
export function registerConsumerCheckCommand(program: Command, context: CommandContext): void {
  const group =
    program.commands.find((command) => command.name() === 'consumer') ??
    program
      .command('consumer')
      .summary('check and report health of a managed client secret, as a consumer')
      .description(
        'Commands for services that use a managed client secret (the consumers of a rotation), for ' +
          'services not written in Node: the Node ones use the consumer library (stytch-m2m-rotator/consumer).',
      );

  group
    .command('check')
    .summary('mint and verify a token with the current (and pending) secret; optionally report health')
    .description(
      'Read the secret --secret-id from Secrets Manager by stage: AWSCURRENT, and AWSPENDING when a rotation ' +
        'is in progress (no AWSPENDING is normal). With each version present, mint a token at the token_url ' +
        'the secret holds (client credentials grant) and verify it against the project JWKS. Prints one row ' +
        'per version: stage, version id, the last four characters of its client secret, client id and ' +
        'the result. Never prints a secret or a token.\n\n' +
        'With --report and a rotation in progress, sends "Consumer Health Reported" for --consumer to the ' +
        "rotator's event bus: healthy when the AWSPENDING version works. The rotation completes when every " +
        'expected consumer reported healthy, and is cancelled on the first unhealthy report. Without an ' +
        'AWSPENDING version there is nothing to report, which is not an error.\n\n' +
        `The report is sent with source stytch-m2m-rotator.consumer.<--consumer>: only a principal that is that ` +
        `consumer may use it (an IAM role tagged ${CONSUMER_PRINCIPAL_TAG}=<name> with the stack's ConsumerPolicyArn, ` +
        'or a grantHealthReports grant); anyone else gets AccessDeniedException, and the rotator refuses a ' +
        'report whose source is not the consumer it names.\n\n' +
        'AWS is reached through the standard SDK configuration (AWS_REGION, AWS_PROFILE, credentials; ' +
        'AWS_ENDPOINT_URL points it at the sandbox).',
    )
    .option('--secret-id <id>', "the managed client's secret: stytch/m2m/<client_id>, or its ARN (required)")
    .option('--consumer <name>', "this service's name, as the client's expectedConsumers lists it (required)")
    .option('--report', 'report the AWSPENDING version healthy or unhealthy for --consumer')
    .option(
      '--event-bus <name>',
      `the rotator's event bus for --report (default: $ROTATOR_EVENT_BUS_NAME, else ${DEFAULT_EVENT_BUS})`,
    )
    .option('--json', 'print exactly one JSON document instead of the table (shape below)')
    .addHelpText(
      'after',
      '\nExit codes:\n' +
        '  0  every version present works\n' +
        '  1  a version does not work (e.g. the token endpoint answers invalid_client, the token does not verify)\n' +
        '  2  usage or setup error, one line on stderr: a missing or bad flag, no such secret, a secret that is\n' +
        "     not a managed client's JSON, AWS or the token endpoint unreachable or failing (HTTP 429/5xx),\n" +
        '     a health report that could not be sent (the results are printed all the same)\n' +
        '\nJSON (--json):\n' +
        '  {"secretId","clientId","consumer","ok",\n' +
        '   "versions":[{"stage","versionId","clientId","secretLastFour","ok","detail"}],\n' +
        '   "report": null (no --report)\n' +
        '           | {"sent":true,"eventBusName","source","clientId","rotationId","pendingVersionId","healthy"}\n' +
        '           | {"sent":false,"reason"}}\n' +
        '\nExamples:\n' +
        '  $ rotator consumer check --secret-id stytch/m2m/m2m-client-test-billing-worker --consumer billing-api\n' +
        '  $ rotator consumer check --secret-id stytch/m2m/m2m-client-test-billing-worker --consumer billing-api \\\n' +
        '      --report   # during a rotation: tell the rotator whether the pending secret works here\n' +
        '  $ AWS_ENDPOINT_URL=http://127.0.0.1:4566 rotator consumer check --secret-id stytch/m2m/my-client \\\n' +
        '      --consumer indexer --json | jq .ok\n',
    )
    .action(async (flags: CheckFlags) => {
      const settings = parseFlags(flags, context.io.env);
      // The consumer library's own clients, from the standard SDK configuration: the check sees the
      // secret and the bus as the consumer would.
      const secretsManager = defaultSecretsManagerClient();
      const eventBridge = settings.report ? defaultEventBridgeClient() : undefined;
      try {
        const { document, reportError } = await runCheck(settings, {
          source: secretsManagerSource(secretsManager),
          tokens: httpTokenEndpoint(),
          reporterFor:
            eventBridge === undefined
              ? undefined
              : (source) => eventBridgeReporter(eventBridge, settings.eventBusName, source),
        });
        context.io.stdout.write(settings.json ? jsonLine(document) : humanReport(document));
        if (reportError !== undefined) {
          // The checks ran and are printed; the rotation did not hear of them: a setup error.
          context.io.stderr.write(`rotator: ${forTerminal(reportError, 1000)}\n`);
          context.setExitCode(ExitCode.usage);
          return;
        }
        context.setExitCode(document.ok ? ExitCode.ok : ExitCode.failed);
      } finally {
        secretsManager.destroy();
        eventBridge?.destroy();
      }
    });
}

/** Validates every flag, reporting the first bad one as a user error (exit 2, one line). */
function parseFlags(flags: CheckFlags, env: Readonly<Record<string, string | undefined>>): CheckSettings {
  if (flags.secretId === undefined || flags.secretId === '') throw usage('--secret-id <id> is required');
  if (!SECRET_ID_PATTERN.test(flags.secretId)) {
    throw usage('--secret-id must be a secret name or ARN (letters, digits and /_+=.@:-)');
  }
  if (flags.consumer === undefined || flags.consumer === '') throw usage('--consumer <name> is required');
  if (!CONSUMER_PATTERN.test(flags.consumer)) {
    throw usage(
      '--consumer must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  const envBus = env.ROTATOR_EVENT_BUS_NAME === '' ? undefined : env.ROTATOR_EVENT_BUS_NAME;
  const eventBusName = flags.eventBus ?? envBus ?? DEFAULT_EVENT_BUS;
  if (!EVENT_BUS_PATTERN.test(eventBusName)) {
    const from = flags.eventBus === undefined ? 'ROTATOR_EVENT_BUS_NAME' : '--event-bus';
    throw usage(`${from} must be an event bus name or ARN (letters, digits and /._:-)`);
  }
  return {
    secretId: flags.secretId,
    consumer: flags.consumer,
    eventBusName,
    report: flags.report === true,
    json: flags.json === true,
  };
}

/** The parts the check talks to, injectable for tests. */
interface CheckParts {
  readonly source: SecretSource;
  readonly tokens: TokenEndpoint;
  /** The reporter that speaks as `source`; present with `--report`. */
  readonly reporterFor: ((source: string) => HealthReporter) | undefined;
}

async function runCheck(
  settings: CheckSettings,
  parts: CheckParts,
): Promise<{ document: CheckDocument; reportError?: string }> {
  const current = await readVersion(parts.source, settings.secretId, 'AWSCURRENT');
  if (current === undefined) {
    throw new CliError(`secret ${settings.secretId} has no AWSCURRENT version`, {
      code: 'secret_not_found',
      source: 'user',
    });
  }
  const pending = await readVersion(parts.source, settings.secretId, 'AWSPENDING');
  const versions: VersionCheck[] = [await checkVersion(parts.tokens, 'AWSCURRENT', current)];
  if (pending !== undefined) versions.push(await checkVersion(parts.tokens, 'AWSPENDING', pending));

  let report: ReportOutcome | null = null;
  let reportError: string | undefined;
  if (settings.report) {
    const pendingCheck = versions.find((version) => version.stage === 'AWSPENDING');
    if (pending === undefined || pendingCheck === undefined) {
      report = { sent: false, reason: 'no AWSPENDING version, no rotation in progress: nothing to report' };
    } else {
      const sent = await sendReport(settings, parts, pending, pendingCheck);
      report = sent.outcome;
      reportError = sent.error;
    }
  }
  const document: CheckDocument = {
    secretId: settings.secretId,
    clientId: current.credentials.clientId,
    consumer: settings.consumer,
    ok: versions.every((version) => version.ok),
    versions,
    report,
  };
  return reportError === undefined ? { document } : { document, reportError };
}

/** Reads one stage; every failure to read it is the user's to fix (exit 2). */
async function readVersion(
  source: SecretSource,
  secretId: string,
  stage: Stage,
): Promise<SecretVersion | undefined> {
  try {
    return await source.read(secretId, stage);
  } catch (error) {
    if (error instanceof SecretFormatError) {
      throw new CliError(`${error.message} (${stage})`, {
        code: 'secret_format',
        source: 'user',
        cause: error,
      });
    }
    if (error instanceof SecretReadError) {
      const cause = error.cause;
      if (cause instanceof Error && cause.name === 'ResourceNotFoundException') {
        throw new CliError(`secret ${secretId} not found in Secrets Manager (ResourceNotFoundException)`, {
          code: 'secret_not_found',
          source: 'user',
          cause: error,
        });
      }
      throw new CliError(`${error.message}${causeMessage(cause)}`, {
        code: 'secret_unreadable',
        source: 'user',
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Mints a token with one version and verifies it. A refusal or a token that does not verify is a
 * version that does not work; an endpoint that did not answer or failed (429/5xx) proves nothing
 * either way and is a setup error.
 */
async function checkVersion(
  tokens: TokenEndpoint,
  stage: Stage,
  version: SecretVersion,
): Promise<VersionCheck> {
  const { credentials } = version;
  const row = (ok: boolean, detail: string): VersionCheck => ({
    stage,
    versionId: version.versionId,
    clientId: credentials.clientId,
    secretLastFour: credentials.clientSecret.lastFour,
    ok,
    detail,
  });
  try {
    const token = await tokens.mint(credentials, []);
    await tokens.verify(credentials, token.accessToken);
    return row(true, OK_DETAIL);
  } catch (error) {
    if (error instanceof TokenRequestError) {
      if (error.status === 0 || error.status === 429 || error.status >= 500) {
        const what = error.status === 0 ? 'is unreachable' : `failed with HTTP ${error.status}`;
        throw new CliError(
          `the token endpoint ${originOf(credentials.tokenUrl)} ${what} (${stage}, client ${credentials.clientId}); ` +
            'nothing was checked',
          { code: 'token_endpoint_unavailable', source: 'user', cause: error },
        );
      }
      return row(false, error.message);
    }
    if (error instanceof TokenVerificationError) return row(false, error.message);
    throw error;
  }
}

async function sendReport(
  settings: CheckSettings,
  parts: CheckParts,
  pending: SecretVersion,
  check: VersionCheck,
): Promise<{ outcome: ReportOutcome; error?: string }> {
  // The rotator uses the rotation id as the AWSPENDING version id; anything else is not its rotation.
  if (!UUID_PATTERN.test(pending.versionId)) {
    return {
      outcome: {
        sent: false,
        reason: `AWSPENDING version ${pending.versionId} is not a rotation id (a UUID), so not the rotator's: nothing to report`,
      },
    };
  }
  // The consumer speaks for itself: the aggregator counts a report only from this source.
  const source = consumerSource(settings.consumer);
  const detail: HealthReportDetail = {
    clientId: pending.credentials.clientId,
    rotationId: pending.versionId,
    pendingVersionId: pending.versionId,
    consumer: settings.consumer,
    healthy: check.ok,
    detail:
      `the pending secret …${check.secretLastFour} ${check.ok ? check.detail : `failed: ${check.detail}`}`.slice(
        0,
        1000,
      ),
  };
  if (parts.reporterFor === undefined) throw new Error('--report without an EventBridge client');
  try {
    await parts.reporterFor(source).report(detail);
  } catch (error) {
    const name = error instanceof Error ? error.name : 'error';
    const denied =
      name === 'AccessDeniedException'
        ? ` (the caller may not publish as ${source}: it needs the ${CONSUMER_PRINCIPAL_TAG}=${settings.consumer} ` +
          "tag and the stack's ConsumerPolicyArn, or a grantHealthReports grant for this consumer)"
        : '';
    const reason = `could not send Consumer Health Reported to event bus ${settings.eventBusName}: ${name}${causeMessage(error)}${denied}`;
    return { outcome: { sent: false, reason }, error: reason };
  }
  return {
    outcome: {
      sent: true,
      eventBusName: settings.eventBusName,
      source,
      clientId: detail.clientId,
      rotationId: detail.rotationId,
      pendingVersionId: detail.pendingVersionId,
      healthy: detail.healthy,
    },
  };
}

/** The table, the no-rotation note, the report line and a verdict. */
function humanReport(document: CheckDocument): string {
  const header = ['STAGE', 'VERSION', 'SECRET', 'CLIENT', 'RESULT'];
  // The secret's fields and the token endpoint's answers are not ours: escaped for the terminal.
  const rows = document.versions.map((version) =>
    [
      version.stage,
      version.versionId,
      `…${version.secretLastFour}`,
      version.clientId,
      version.ok ? 'ok' : `FAILED: ${version.detail}`,
    ].map((cell) => forTerminal(cell)),
  );
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  const lines = [
    `Secret ${forTerminal(document.secretId)} (client ${forTerminal(document.clientId)}), consumer ${document.consumer}`,
    '',
    line(header),
    ...rows.map(line),
    '',
  ];
  const pending = document.versions.some((version) => version.stage === 'AWSPENDING');
  const report = document.report;
  if (!pending) lines.push('No AWSPENDING version: no rotation in progress.');
  if (report?.sent === true) {
    lines.push(
      `Reported ${report.healthy ? 'healthy' : 'unhealthy'} for rotation ${report.rotationId} as ${document.consumer} ` +
        `(event bus ${report.eventBusName}, source ${report.source}).`,
    );
  } else if (report !== null && pending) {
    lines.push(`Not reported: ${report.reason}.`);
  } else if (report !== null) {
    lines.push('--report: nothing to report.');
  } else if (pending) {
    lines.push(
      'A rotation is in progress; run again with --report to tell the rotator what this consumer found.',
    );
  }
  const failed = document.versions.filter((version) => !version.ok).length;
  lines.push(
    failed === 0
      ? `OK: ${document.versions.length === 1 ? 'the version' : `all ${document.versions.length} versions`} present work${document.versions.length === 1 ? 's' : ''}.`
      : `FAILED: ${failed} of ${document.versions.length} versions do${failed === 1 ? 'es' : ''} not work.`,
  );
  return `${lines.join('\n')}\n`;
}

/** `: <message>` of an AWS SDK or network error, on one line and bounded (they name no secret). */
function causeMessage(error: unknown): string {
  if (!(error instanceof Error)) return '';
  const code = (error as { code?: unknown }).code;
  const first = error instanceof AggregateError ? (error.errors[0] as unknown) : error.cause;
  const message =
    error.message.trim() !== ''
      ? error.message
      : typeof code === 'string'
        ? code
        : first instanceof Error
          ? first.message
          : '';
  const line = message.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  return line === '' || line === error.name ? '' : ` (${line.slice(0, 200)})`;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function usage(message: string): CliError {
  return new CliError(message, { code: 'usage', source: 'user' });
}
