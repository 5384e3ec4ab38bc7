import { performance } from 'node:perf_hooks';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { StytchRotationAdapter } from '#adapters/stytch/StytchRotationAdapter.js';
import { rotationDurationMs } from '#cli/executions.js';
import { type CliIo, untilAborted } from '#cli/io.js';
import { seconds } from '#cli/output.js';
import { parseSecretString } from '#consumer/index.js';
import { RotatorError } from '#core/errors.js';
import { EVENT_SOURCES, type RotatorEvent } from '#core/events.js';
import { lastFour, type Secret } from '#core/secret.js';
import { rotationIdFor } from '#core/state.js';
import { type ConsumerBehaviour, type ConsumerNote, DemoConsumer } from '../world/DemoConsumer.js';
import { awsClientConfig, type ExternalStytch, Sandbox, type SandboxCredentials } from '../world/Sandbox.js';
import { type SandboxConfig, sampleSandboxConfig } from '../world/sandboxConfig.js';
import { scanForSecrets } from './leakScan.js';

/** npm start was stopped by a signal (the abort reason {@link runDemo} rejects with). */
export class SandboxStoppedError extends RotatorError {
  public readonly signal: NodeJS.Signals;

  public constructor(signal: NodeJS.Signals) {
    super(
      `stopped by ${signal}; everything it started (moto_server, the emulators, the gateway, the webhook) is stopped`,
    );
    this.name = 'SandboxStoppedError';
    this.signal = signal;
  }
}

/** Options of {@link runDemo} (`npm start`). */
export interface DemoOptions {
  /** One JSON document on stdout; progress on stderr. */
  readonly json: boolean;
  /** Keep the sandbox running afterwards until `signal` aborts. */
  readonly keep: boolean;
  /** An already-running Stytch (emulator or a real test project). */
  readonly stytch?: ExternalStytch;
  /** An already-running moto server. */
  readonly awsEndpoint?: string;
  /**
   * Aborted by SIGINT/SIGTERM: whatever the run is doing, it stops what it started and rejects
   * with the signal's reason (it does not wait for the step in progress).
   */
  readonly signal: AbortSignal;
  /** The leak scenario's deadline, shortened from the config's so the demo does not wait minutes. @default 6 */
  readonly leakDeadlineSeconds?: number;
}

type ScenarioId = 'a' | 'b' | 'c' | 'd';
type Outcome = 'completed' | 'cancelled' | 'failed';

interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  /** The config's client id. */
  readonly configClientId: string;
  readonly trigger: 'schedule' | 'leak';
  readonly consumers: Readonly<Record<string, ConsumerBehaviour>>;
  readonly expected: Outcome;
  /** Needs the emulator's fault injection. */
  readonly needsFaults?: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  {
    id: 'a',
    title: 'schedule, every consumer healthy',
    configClientId: 'm2m-client-test-billing-worker',
    trigger: 'schedule',
    consumers: { 'billing-api': 'healthy', 'invoice-worker': 'healthy' },
    expected: 'completed',
  },
  {
    id: 'b',
    title: 'schedule, one consumer unhealthy',
    configClientId: 'm2m-client-test-reporting',
    trigger: 'schedule',
    consumers: { 'reporting-job': 'healthy', 'audit-export': 'unhealthy' },
    expected: 'cancelled',
  },
  {
    id: 'c',
    title: 'leak event, one consumer never reports',
    configClientId: 'm2m-client-test-payments',
    trigger: 'leak',
    consumers: { 'payments-api': 'healthy', 'fraud-scorer': 'silent' },
    expected: 'completed',
  },
  {
    id: 'd',
    title: 'schedule, Stytch loses the rotate/start response',
    configClientId: 'm2m-client-test-search-indexer',
    trigger: 'schedule',
    consumers: { indexer: 'healthy' },
    expected: 'completed',
    needsFaults: true,
  },
];

/** One rotation in the JSON document (the shape docs/sandbox.md documents). */
export interface RotationReport {
  readonly scenario: ScenarioId;
  readonly clientId: string;
  readonly trigger: 'schedule' | 'leak';
  readonly outcome: Outcome;
  readonly steps: { readonly name: string; readonly ms: number }[];
  readonly consumers: { readonly name: string; readonly healthy: boolean }[];
}

/** The leak scenario's attacker token: how long it was accepted, by the demo API and by a plain JWKS check. */
export interface ContainmentFigures {
  readonly clientId: string;
  /** From the leak report to the demo API's 401 for the token minted with the leaked secret. */
  readonly refusedAfterMs: number;
  /** A verifier without the rotator's records still accepts the token... */
  readonly plainJwksAccepts: boolean;
  /** ...for this much longer (its remaining lifetime). */
  readonly plainJwksValidForS: number;
}

/** The JSON document `npm start -- --json` prints. */
export interface DemoReport {
  readonly rotations: RotationReport[];
  readonly tokens: { readonly requests: number; readonly failed: number };
  /** The consumers' calls of the demo API; refused = refused again after a retry with a fresh token. */
  readonly api: { readonly calls: number; readonly refused: number };
  /** The leak scenario's attacker token (absent when scenario c did not run). */
  readonly containment?: ContainmentFigures;
  readonly leakScan: { readonly scannedBytes: number; readonly secretHits: number };
  /** Every behaviour check the run made; the run fails when one fails. */
  readonly checks: { readonly scenario: ScenarioId; readonly check: string; readonly ok: boolean }[];
  /** Figures of the run: wall time, state transitions per execution. */
  readonly figures: {
    readonly wallMs: number;
    readonly transitions: Readonly<Record<string, number>>;
  };
  readonly skipped?: { readonly scenario: ScenarioId; readonly reason: string }[];
  readonly endpoints?: {
    readonly aws: string;
    readonly stytch: string;
    /** The sandbox's own webhook secret (made up at start, like the emulator's credentials). */
    readonly githubWebhook: { readonly url: string; readonly secret: string };
    readonly githubApi: string;
    /** The demo resource server: `GET <url>/whoami` with `Authorization: Bearer <token>`. */
    readonly resourceServer: string;
    /** The token revocation document (a signed GetObject, path-style on the AWS endpoint). */
    readonly tokenRevocations: string;
    /**
     * The access keys of the operator and of every consumer (IAM users in moto; the gateway checks
     * every PutEvents against them). Only in this document: text mode prints the operator's exports.
     */
    readonly credentials: SandboxCredentials;
  };
}

/**
 * `npm start`: the whole system on one machine (see Sandbox), four rotations through the state
 * machine `cdk synth` produced, demo consumers minting tokens throughout, a leak scan of everything
 * the run captured. Returns the exit code: 0 when every check held and no secret leaked.
 */
export async function runDemo(options: DemoOptions, io: CliIo): Promise<number> {
  const wallStart = performance.now();
  const progress = options.json ? io.stderr : io.stdout;
  const printed: string[] = [];
  const say = (line: string): void => {
    printed.push(line);
    progress.write(`${line}\n`);
  };
  const elapsed = (): string => `${((performance.now() - wallStart) / 1000).toFixed(2)}s`.padStart(7);
  const timeline = (clientId: string, text: string): void =>
    say(`${elapsed()}  ${clientId.padEnd(34)} ${text}`);

  const leakDeadline = options.leakDeadlineSeconds ?? 6;
  const config = demoConfig(sampleSandboxConfig(), leakDeadline);
  const suffix = options.stytch === undefined ? '' : `-${Date.now().toString(36)}`;

  const consumers: DemoConsumer[] = [];
  const consumerClients: EventBridgeClient[] = [];
  const pendingWork = new Set<Promise<unknown>>();
  const notes: ConsumerNote[] = [];
  const onRotatorEvent = (event: RotatorEvent): void => {
    const detail = event.detail as Record<string, unknown>;
    const clientId = typeof detail.clientId === 'string' ? detail.clientId : '?';
    timeline(clientId, describeEvent(event));
    for (const consumer of consumers) {
      const work = consumer.onEvent(event).catch(() => undefined);
      pendingWork.add(work);
      void work.finally(() => pendingWork.delete(work));
    }
  };

  say('Starting the sandbox: moto_server, the Stytch emulator, the state machine from cdk synth');
  const sandbox = await Sandbox.start({
    config,
    ...(options.stytch === undefined ? {} : { stytch: options.stytch }),
    ...(options.awsEndpoint === undefined ? {} : { awsEndpoint: options.awsEndpoint }),
    clientIdSuffix: suffix,
    say,
    onRotatorEvent,
    signal: options.signal,
  });
  let stopped = false;
  const stopSandbox = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const consumer of consumers) await consumer.stop().catch(() => undefined);
    for (const client of consumerClients) client.destroy();
    await sandbox.stop();
  };

  const run = async (): Promise<number> => {
    say(`Time is compressed: the leak scenario's deadline is ${leakDeadline} s (the config says 300 s);`);
    say('schedules fire when their scenario starts instead of at their rate/cron; retry waits run at 1/100.');
    // The demo's checks ask "does it mint now?": no consistency grace (the workflow keeps its own).
    const stytch = new StytchRotationAdapter({ stytch: sandbox.stytchClient, consistencyGraceMs: 0 });
    const sm = sandbox.aws.secretsManager;
    const ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
    const idOf = (configClientId: string): string =>
      sandbox.clientIdMap.get(configClientId) ?? configClientId;

    for (const scenario of SCENARIOS) {
      for (const [name, behaviour] of Object.entries(scenario.consumers)) {
        const clientId = idOf(scenario.configClientId);
        // Each consumer reports with its own IAM user's key (tagged with its name), as its role would.
        const eventBridge = new EventBridgeClient(
          awsClientConfig(sandbox.awsEndpoint, await sandbox.consumerCredentials(name)),
        );
        consumerClients.push(eventBridge);
        const consumer = new DemoConsumer({
          name,
          clientId,
          secretId: `${config.secretPrefix}/${clientId}`,
          behaviour,
          secretsManager: sm,
          eventBridge,
          eventBusName: sandbox.eventBusName,
          intervalMs: 100,
          resourceServerUrl: sandbox.resourceServer.url,
          note: (note) => {
            notes.push(note);
            if (note.kind === 'reported') {
              timeline(
                note.clientId,
                `consumer ${note.consumer} reported ${note.healthy ? 'healthy' : 'UNHEALTHY'}`,
              );
            } else {
              timeline(note.clientId, `consumer ${note.consumer} now uses ${note.stage} …${note.lastFour}`);
            }
          },
        });
        await consumer.start();
        consumers.push(consumer);
      }
    }
    say(
      `${consumers.length} demo consumers are minting tokens every 100 ms and calling the demo API with them (${sandbox.resourceServer.url}/whoami)`,
    );

    const rotations: RotationReport[] = [];
    const checks: DemoReport['checks'] = [];
    const transitions: Record<string, number> = {};
    const skipped: { scenario: ScenarioId; reason: string }[] = [];

    const authenticates = (clientId: string, secret: Secret): Promise<boolean> =>
      stytch.authenticates({ clientId, kind: 'm2m' }, secret);
    const readSecret = async (secretId: string, stage: string): Promise<Secret> => {
      const { SecretString } = await sm.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }),
      );
      return parseSecretString(secretId, SecretString).clientSecret;
    };

    const mintToken = async (clientId: string, secret: Secret): Promise<string> =>
      (await sandbox.stytchClient.token({ clientId, clientSecret: secret })).accessToken.reveal();
    const callDemoApi = async (token: string): Promise<{ status: number; reason?: string }> => {
      const response = await fetch(`${sandbox.resourceServer.url}/whoami`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await response.json()) as { reason?: string };
      return { status: response.status, ...(body.reason === undefined ? {} : { reason: body.reason }) };
    };
    const mintAttackerToken = async (clientId: string, leaked: Secret) => {
      const token = await mintToken(clientId, leaked);
      return { token, before: (await callDemoApi(token)).status };
    };
    /** From the leak report: until the demo API refuses the attacker's token (at most 20 s after the report). */
    const watchAttackerToken = async (
      clientId: string,
      token: string,
      reportedAt: number,
      check: (name: string, ok: boolean) => void,
    ): Promise<ContainmentFigures> => {
      let answer = await callDemoApi(token);
      while (answer.status === 200 && performance.now() - reportedAt < 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        answer = await callDemoApi(token);
      }
      const refusedAfterMs = Math.round(performance.now() - reportedAt);
      const plainJwksAccepts = await sandbox.resourceServer.plainJwksAccepts(token);
      const expiresInS = Math.max(
        0,
        Math.round(
          ((JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number })
            .exp *
            1000 -
            Date.now()) /
            1000,
        ),
      );
      timeline(
        clientId,
        `the attacker's token at the demo API: ${answer.status} ${answer.reason ?? ''}, ${seconds(refusedAfterMs)} after the report`,
      );
      timeline(
        clientId,
        `the same token at a plain JWKS check: ${plainJwksAccepts ? `still accepted (for ${Math.round(expiresInS / 60)} more minutes)` : 'refused'}`,
      );
      check(
        'the attacker’s token, minted before the report, is refused at the demo API within 15 s',
        answer.status === 401 && answer.reason === 'token_revoked' && refusedAfterMs <= 15_000,
      );
      check('a plain JWKS check still accepts the attacker’s token', plainJwksAccepts);
      return { clientId, refusedAfterMs, plainJwksAccepts, plainJwksValidForS: expiresInS };
    };
    let containment: ContainmentFigures | undefined;

    for (const scenario of SCENARIOS) {
      const clientId = idOf(scenario.configClientId);
      const secretId = `${config.secretPrefix}/${clientId}`;
      if (scenario.needsFaults === true && sandbox.emulator === undefined) {
        const reason = 'needs the Stytch emulator’s fault injection; an outside Stytch was given';
        skipped.push({ scenario: scenario.id, reason });
        say(`scenario ${scenario.id} (${scenario.title}): skipped, ${reason}`);
        continue;
      }
      say('');
      say(`── scenario ${scenario.id}: ${scenario.title} (${clientId})`);
      const check = (name: string, ok: boolean): void => {
        checks.push({ scenario: scenario.id, check: name, ok });
        timeline(clientId, `${ok ? 'check ok  ' : 'CHECK FAILED'} ${name}`);
      };
      const before = await readSecret(secretId, 'AWSCURRENT');
      let attacker: { token: string; before: number } | undefined;
      let reportedAt = 0;
      let attackerWatch: Promise<ContainmentFigures> | undefined;
      if (scenario.needsFaults === true) {
        sandbox.emulator?.faults.dropResponseNext('m2m.secrets.rotateStart');
        timeline(clientId, 'fault armed: the emulator commits the next rotate/start and drops its response');
      }

      let executionArn: string;
      if (scenario.trigger === 'schedule') {
        const schedule = await sandbox.rotationSchedule(clientId);
        if (schedule === undefined) throw new Error(`${clientId} has no rotation schedule`);
        timeline(
          clientId,
          `schedule ${schedule.expression} (${schedule.timeZone}) fires now (time compressed)`,
        );
        // What EventBridge Scheduler does: StartExecution with the schedule's input, through the AWS endpoint.
        const started = await sandbox.aws.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: sandbox.executor.stateMachineArn,
            input: schedule.input,
          }),
        );
        executionArn = started.executionArn ?? '';
      } else {
        // The attacker was quicker than the report: a token minted with the leaked secret.
        attacker = await mintAttackerToken(clientId, before);
        timeline(
          clientId,
          `the attacker mints a token with the leaked secret …${before.lastFour}: demo API answers ${attacker.before}`,
        );
        timeline(
          clientId,
          'the operator reports a leak by client id (Secret Leak Detected, as rotator leak report)',
        );
        reportedAt = performance.now();
        // Watched from the report on, as the attacker would keep using it.
        attackerWatch = watchAttackerToken(clientId, attacker.token, reportedAt, check);
        attackerWatch.catch(() => undefined); // awaited after the execution; never unhandled meanwhile
        const known = new Set(sandbox.executor.listExecutions().map((execution) => execution.executionArn));
        // A report by client id needs the operator grant: the sandbox's own clients act as the operator.
        await sandbox.aws.eventBridge.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: sandbox.eventBusName,
                Source: EVENT_SOURCES.operator,
                DetailType: 'Secret Leak Detected',
                Detail: JSON.stringify({ clientId, source: 'sandbox-demo', reference: 'demo' }),
              },
            ],
          }),
        );
        // The leak rule delivers to the leak intake, which starts the execution `leak-<event id>`.
        await sandbox.settle();
        const started = sandbox.executor
          .listExecutions()
          .find((execution) => !known.has(execution.executionArn) && execution.name.startsWith('leak-'));
        if (started === undefined) throw new Error('the leak intake did not start an execution');
        timeline(clientId, `the leak intake started execution ${started.name}`);
        executionArn = started.executionArn;
      }

      const description = await sandbox.executor.waitForExecution(executionArn);
      await sandbox.settle();
      while (pendingWork.size > 0) await Promise.allSettled([...pendingWork]);
      const history = sandbox.executor.getExecutionHistory(executionArn).events;
      transitions[scenario.id] = history.filter((event) => event.type.endsWith('StateEntered')).length;
      const outcomeEvent = sandbox.events
        .filter((event) => (event.detail as { clientId?: string }).clientId === clientId)
        .map((event) => event.detailType)
        .filter(
          (type) =>
            type === 'Rotation Completed' || type === 'Rotation Cancelled' || type === 'Rotation Failed',
        )
        .at(-1);
      const outcome: Outcome =
        outcomeEvent === 'Rotation Completed'
          ? 'completed'
          : outcomeEvent === 'Rotation Cancelled'
            ? 'cancelled'
            : 'failed';
      // The rotation's duration as `rotator history` and `rotator rotate --wait` show it (one function).
      const record = await ledger.getRotation(clientId, rotationIdFor(executionArn));
      const durationMs = record === null ? undefined : rotationDurationMs(record.steps);
      timeline(
        clientId,
        `execution ${description.status}: ${outcome}${durationMs === undefined ? '' : ` in ${seconds(durationMs)}`} (${transitions[scenario.id]} state transitions)`,
      );

      const after = await readSecret(secretId, 'AWSCURRENT');
      check(`outcome is ${scenario.expected}`, outcome === scenario.expected);
      if (scenario.expected === 'completed') {
        check('AWSCURRENT holds a new secret', after.reveal() !== before.reveal());
        check('the new secret authenticates', await authenticates(clientId, after));
        check('the old secret is rejected (invalid_client)', !(await authenticates(clientId, before)));
      } else {
        check('AWSCURRENT is unchanged', after.reveal() === before.reveal());
        check('the old secret still works', await authenticates(clientId, before));
      }
      if (attacker !== undefined && attackerWatch !== undefined) {
        containment = await attackerWatch;
        const fresh = await mintToken(clientId, after);
        const freshAnswer = await callDemoApi(fresh);
        check('a token minted with the new secret is accepted at the demo API', freshAnswer.status === 200);
      }
      const { VersionIdsToStages = {} } = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
      check(
        'no AWSPENDING is left',
        !Object.values(VersionIdsToStages).some((stages) => stages.includes('AWSPENDING')),
      );
      if (scenario.needsFaults === true && sandbox.emulator !== undefined) {
        const routes = sandbox.emulator
          .requestLog()
          .filter((entry) => entry.path.includes(`/${clientId}/`))
          .map((entry) => `${entry.route ?? ''}${entry.fault === 'dropped' ? ':dropped' : ''}`);
        check(
          'recovered: rotate/start lost, then rotate/cancel and rotate/start again',
          routes.includes('m2m.secrets.rotateStart:dropped') &&
            routes.includes('m2m.secrets.rotateCancel') &&
            routes.filter((route) => route === 'm2m.secrets.rotateStart').length >= 1,
        );
      }

      rotations.push({
        scenario: scenario.id,
        clientId,
        trigger: scenario.trigger,
        outcome,
        steps: stepTimings(history),
        consumers: Object.keys(scenario.consumers).map((name) => ({
          name,
          healthy: notes.some(
            (note) =>
              note.kind === 'reported' &&
              note.clientId === clientId &&
              note.consumer === name &&
              note.healthy,
          ),
        })),
      });
    }

    // With --keep the consumers go on minting (and answering rotations started from outside).
    if (!options.keep) for (const consumer of consumers) await consumer.stop();
    const tokens = consumers.reduce(
      (sum, consumer) => ({
        requests: sum.requests + consumer.stats.requests,
        failed: sum.failed + consumer.stats.failed,
      }),
      { requests: 0, failed: 0 },
    );

    const api = consumers.reduce(
      (sum, consumer) => ({
        calls: sum.calls + consumer.stats.apiCalls,
        refused: sum.refused + consumer.stats.apiRefused,
      }),
      { calls: 0, refused: 0 },
    );

    const captured = await sandbox.captured();
    captured.push({ source: 'timeline', text: printed.join('\n') });
    captured.push({ source: 'consumer notes', text: JSON.stringify(notes) });
    const report: DemoReport = {
      rotations,
      tokens,
      api,
      ...(containment === undefined ? {} : { containment }),
      leakScan: { scannedBytes: 0, secretHits: 0 },
      checks,
      figures: { wallMs: 0, transitions },
      ...(skipped.length === 0 ? {} : { skipped }),
    };
    captured.push({ source: 'report', text: JSON.stringify(report) });
    const scan = scanForSecrets(captured, sandbox.secrets);
    const finalReport: DemoReport = {
      ...report,
      leakScan: { scannedBytes: scan.scannedBytes, secretHits: scan.secretHits },
      figures: { wallMs: Math.round(performance.now() - wallStart), transitions },
      // After the scan: the webhook secret is the sandbox's own, printed so you can sign deliveries.
      ...(options.keep
        ? {
            endpoints: {
              aws: sandbox.awsEndpoint,
              stytch: sandbox.stytch.url,
              githubWebhook: {
                url: sandbox.githubWebhook.url,
                secret: sandbox.githubWebhook.secret.reveal(),
              },
              githubApi: sandbox.github.url,
              resourceServer: sandbox.resourceServer.url,
              tokenRevocations: sandbox.tokenRevocationsUrl,
              credentials: sandbox.credentials,
            },
          }
        : {}),
    };

    const failedChecks = checks.filter((c) => !c.ok);
    say('');
    printSummary(say, finalReport, scan.hitSources);
    const ok = failedChecks.length === 0 && scan.secretHits === 0 && tokens.failed === 0 && api.refused === 0;

    if (options.json) io.stdout.write(`${JSON.stringify(finalReport)}\n`);
    const example = idOf(SCENARIOS[0]?.configClientId ?? '');
    if (!options.keep)
      io.stderr.write(nextSteps({ keep: false, clientId: example, stackName: sandbox.stackName }));
    if (options.keep) {
      say('');
      say(`The sandbox keeps running. AWS endpoint (AWS_ENDPOINT_URL): ${sandbox.awsEndpoint}`);
      say(
        'The demo consumers keep minting tokens and answer rotations you start (boto3, the AWS CLI, a Secret Leak Detected event).',
      );
      say(`Stytch: ${sandbox.stytch.url} (project ${sandbox.stytch.projectId})`);
      say(`State machine: ${sandbox.executor.stateMachineArn}; event bus: ${sandbox.eventBusName}`);
      say(
        `Demo API (the verifier): GET ${sandbox.resourceServer.url}/whoami with Authorization: Bearer <token>; ` +
          `revocation document: ${sandbox.tokenRevocationsUrl}`,
      );
      say(
        "For the rotator CLI and the AWS CLI in another terminal, as the operator (the consumers' keys are in the --json document only):",
      );
      const exports = Object.entries(sandbox.cliEnv()).map(([name, value]) => `${name}=${value}`);
      // Three lines: the SDK's settings, the workflow's resources, what `register` needs besides.
      for (const line of [exports.slice(0, 4), exports.slice(4, 9), exports.slice(9)])
        say(`  export ${line.join(' ')}`);
      say(
        `  (or set only the first line and run \`rotator --stack ${sandbox.stackName} …\`: the outputs are a stack in moto too)`,
      );
      say(
        `GitHub secret-scanning webhook: ${sandbox.githubWebhook.url} (webhook secret ${sandbox.githubWebhook.secret.reveal()}; ` +
          `GitHub API emulator ${sandbox.github.url}, ${describeGitHubToken(sandbox.github.token)})`,
      );
      io.stderr.write(nextSteps({ keep: true, clientId: example, stackName: sandbox.stackName }));
      say('Press Ctrl-C (or send SIGTERM) to stop it.');
      await untilAborted(options.signal);
    }
    return ok ? 0 : 1;
  };

  try {
    return await unlessAborted(run(), options.signal);
  } finally {
    await stopSandbox();
  }
}

/**
 * `work`, or a rejection with the signal's reason as soon as it aborts: a signal does not wait for
 * the step in progress (the caller stops what the run started; what `work` does afterwards fails
 * against stopped parts, and is ignored).
 */
async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * What to try next, printed on stderr at the end of a run (stdout stays the one JSON document with
 * --json): without --keep, how to keep it running; with it, the CLI commands to run with the
 * `export` lines printed above.
 */
export function nextSteps(run: {
  readonly keep: boolean;
  readonly clientId: string;
  readonly stackName: string;
}): string {
  const commands = [
    '    npx rotator status',
    `    npx rotator rotate ${run.clientId} --reason "trying it" --wait`,
    `    npx rotator history ${run.clientId}`,
    `    npx rotator leak report --client-id ${run.clientId} --reference "trying it"`,
  ];
  const lines = run.keep
    ? [
        'Next, in another terminal: paste the export lines above (or set the first one and pass',
        `--stack ${run.stackName}), then try the operator commands (docs/operating.md), e.g.`,
        ...commands,
      ]
    : [
        'Next: npm start -- --keep runs the same and keeps everything running. It prints export lines',
        '(AWS_ENDPOINT_URL, AWS_REGION, the operator’s access key, the ROTATOR_* resources): paste them',
        'into another terminal and try the operator commands (docs/operating.md), e.g.',
        ...commands,
      ];
  return `\n${lines.join('\n')}\n`;
}

/** Where the sandbox keeps the GitHub API emulator's token (the webhook handler reads it there). */
export const GITHUB_TOKEN_SECRET_NAME = 'stytch-m2m-rotator/github-token';

/**
 * What `--keep` says of the GitHub API emulator's token: where it is kept and its last four
 * characters, never the token (read it from Secrets Manager at the printed AWS endpoint).
 */
export function describeGitHubToken(token: string): string {
  return `token in Secrets Manager under ${GITHUB_TOKEN_SECRET_NAME} (…${lastFour(token)})`;
}

/** The sample config with the leak deadline shortened (said on screen) so the demo does not wait minutes. */
function demoConfig(config: SandboxConfig, leakDeadlineSeconds: number): SandboxConfig {
  return {
    ...config,
    clients: config.clients.map((client) => ({
      ...client,
      policy: { ...client.policy, leak: { ...client.policy.leak, deadlineSeconds: leakDeadlineSeconds } },
    })),
  };
}

/** Time in each Task and Choice-free state, from the execution history, in order. */
function stepTimings(
  history: readonly { type: string; timestamp: Date; stateEnteredEventDetails?: { name?: string } }[],
): { name: string; ms: number }[] {
  const steps: { name: string; ms: number }[] = [];
  const open = new Map<string, Date>();
  for (const event of history) {
    const enteredName = event.stateEnteredEventDetails?.name;
    if (event.type.endsWith('StateEntered') && enteredName !== undefined)
      open.set(enteredName, event.timestamp);
    const exited = (event as { stateExitedEventDetails?: { name?: string } }).stateExitedEventDetails?.name;
    if (event.type === 'TaskStateExited' && exited !== undefined) {
      const entered = open.get(exited);
      if (entered !== undefined)
        steps.push({ name: exited, ms: event.timestamp.getTime() - entered.getTime() });
    }
  }
  return steps;
}

function describeEvent(event: RotatorEvent): string {
  const d = event.detail as Record<string, unknown>;
  switch (event.detailType) {
    case 'Rotation Started':
      return `Rotation Started (${String(d.trigger)})`;
    case 'Rotation Pending':
      return `Rotation Pending: AWSPENDING …${String(d.pendingLastFour)} stored and self-tested, deadline ${String(d.deadline)}`;
    case 'Rotation Completed':
      return `Rotation Completed (${String(d.reason)}): AWSCURRENT …${String(d.currentLastFour)}, …${String(d.previousLastFour)} revoked`;
    case 'Rotation Cancelled':
      return `Rotation Cancelled (${String(d.reason)}): the current secret stays`;
    case 'Rotation Failed':
      return `Rotation Failed in ${String(d.state)}`;
    case 'Client Tokens Revoked':
      return `Client Tokens Revoked: tokens issued before ${String(d.cutoff)} are refused (document written; the demo API applied the event)`;
    default:
      return event.detailType;
  }
}

function printSummary(say: (line: string) => void, report: DemoReport, hitSources: readonly string[]): void {
  say('scenario  client                             trigger   outcome    steps (ms)');
  for (const rotation of report.rotations) {
    say(
      `${rotation.scenario.padEnd(9)} ${rotation.clientId.padEnd(34)} ${rotation.trigger.padEnd(9)} ${rotation.outcome.padEnd(10)} ${rotation.steps
        .map((step) => `${step.name} ${step.ms}`)
        .join(', ')}`,
    );
  }
  for (const skipped of report.skipped ?? []) say(`${skipped.scenario.padEnd(9)} skipped: ${skipped.reason}`);
  const failed = report.checks.filter((c) => !c.ok);
  say(`checks: ${report.checks.length - failed.length}/${report.checks.length} held`);
  for (const c of failed) say(`  FAILED (${c.scenario}): ${c.check}`);
  say(`tokens: ${report.tokens.requests} requests, ${report.tokens.failed} failed`);
  say(`demo API: ${report.api.calls} calls by the consumers, ${report.api.refused} refused`);
  if (report.containment !== undefined) {
    const { refusedAfterMs, plainJwksAccepts, plainJwksValidForS } = report.containment;
    say(
      `containment: the attacker's pre-minted token refused ${(refusedAfterMs / 1000).toFixed(1)} s after the report` +
        (plainJwksAccepts
          ? ` (a plain JWKS check accepts it for ${Math.round(plainJwksValidForS / 60)} more minutes)`
          : ''),
    );
  }
  say(
    `leak scan: ${report.leakScan.scannedBytes} bytes scanned, ${report.leakScan.secretHits} secret hits` +
      (hitSources.length === 0 ? '' : ` (in ${hitSources.join(', ')})`),
  );
  say(`wall time: ${(report.figures.wallMs / 1000).toFixed(1)} s`);
}
