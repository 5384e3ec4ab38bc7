import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { exec } from '#cli/exec.js';
import type { CliIo, TextSink } from '#cli/io.js';
import { type AwsCall, NOT_MODELLED_TARGET } from '#sandbox/gateway/index.js';
import type { LoggedRequest, StytchEmulator } from '#sandbox/stytch-emulator/index.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { type SandboxConfig, sampleSandboxConfig, withClients } from '#sandbox/world/sandboxConfig.js';
import { wholeNumber } from './applyBench.js';
import type { BenchContext, BenchResult, Target } from './harness.js';

// `npm run bench -- fleet [--clients N] [--stytch-rps N] [--max-concurrency N] [--trigger leak|manual] [--json]`:
// a fleet run over N clients in one sandbox, with the Stytch emulator enforcing --stytch-rps per
// route group (management, token) in fixed one-second windows and the deployment's shared budget
// set to the same figure: how close the run comes to the limit, and whether every client rotates.

export const DEFAULT_FLEET_CLIENTS = 1000;
export const MAX_FLEET_CLIENTS = 10_000;
export const DEFAULT_FLEET_RPS = 100;
/** The share of the limit the run must reach (the target). */
export const MIN_ACHIEVED_SHARE = 0.9;
/** Peak RSS of the bench process (the sandbox's Node parts; moto is its own process). */
export const MAX_PEAK_RSS_MB = 2048;
const RSS_SAMPLE_MS = 250;
const LOG_DRAIN_MS = 200;
const POLL_MS = 1000;
/** How often the run's progress is said (every poll would be a line a second for an hour). */
const PROGRESS_EVERY_S = 5;

/** The options of `npm run bench -- fleet`. */
export interface FleetBenchOptions {
  readonly clients: number;
  readonly stytchRps: number;
  /** `--max-concurrency` of the run; absent: enough to keep the budget busy (see {@link concurrencyFor}). */
  readonly maxConcurrency?: number;
  /** `leak` (`emergency --all`, the budget's reserve included) or `manual` (`rotate --all`, four fifths). */
  readonly trigger: 'leak' | 'manual';
}

/** The flags as `parseArgs` gives them. */
export interface FleetBenchFlags {
  readonly clients?: string | undefined;
  readonly 'stytch-rps'?: string | undefined;
  readonly 'max-concurrency'?: string | undefined;
  readonly trigger?: string | undefined;
}

/** The fleet benchmark's options; throws an Error whose message is the usage problem. */
export function parseFleetBenchOptions(flags: FleetBenchFlags): FleetBenchOptions {
  if (flags.trigger !== undefined && flags.trigger !== 'leak' && flags.trigger !== 'manual') {
    throw new Error(`--trigger must be leak or manual, not "${flags.trigger}"`);
  }
  return {
    clients:
      flags.clients === undefined
        ? DEFAULT_FLEET_CLIENTS
        : wholeNumber('clients', flags.clients, 1, MAX_FLEET_CLIENTS),
    stytchRps:
      flags['stytch-rps'] === undefined
        ? DEFAULT_FLEET_RPS
        : wholeNumber('stytch-rps', flags['stytch-rps'], 1, 10_000),
    ...(flags['max-concurrency'] === undefined
      ? {}
      : { maxConcurrency: wholeNumber('max-concurrency', flags['max-concurrency'], 1, 10_000) }),
    trigger: (flags.trigger ?? 'leak') as 'leak' | 'manual',
  };
}

/**
 * Rotations in flight that keep `rps` busy without crowding the budget: a rotation spends 2
 * management requests in about a second, so rps / 2 of them fill the limit. More only wait: each
 * waiter tries the budget's one counter item once a window, and a crowd of them costs every
 * other call its speed (moto here; the item's write capacity in DynamoDB).
 */
export function concurrencyFor(rps: number, clients: number): number {
  return Math.max(1, Math.min(clients, Math.ceil(rps / 2), 10_000));
}

/** The fleet's `index`-th client (1-based): `fleet-00001`. */
function fleetClientId(index: number): string {
  return `fleet-${String(index).padStart(5, '0')}`;
}

/** The sandbox config with N clients and no expected consumer (each rotation completes at once). */
function fleetConfig(options: FleetBenchOptions): SandboxConfig {
  const sample = sampleSandboxConfig();
  return withClients(
    { ...sample, stytch: { ...sample.stytch, requestsPerSecond: options.stytchRps } },
    Array.from({ length: options.clients }, (_, i) => ({
      clientId: fleetClientId(i + 1),
      kind: 'm2m' as const,
    })),
  );
}

/** The emulator's answers, drained from its log as they come (it keeps 10,000). */
class StytchTally {
  public readonly byGroup = { management: 0, token: 0, jwks: 0 };
  public throttled = 0;
  /** Admitted management requests per second of the run (epoch second → count). */
  public readonly managementPerSecond = new Map<number, number>();
  readonly #emulator: StytchEmulator;
  readonly #timer: NodeJS.Timeout;

  public constructor(emulator: StytchEmulator) {
    this.#emulator = emulator;
    emulator.clearRequestLog();
    this.#timer = setInterval(() => this.drain(), LOG_DRAIN_MS);
    this.#timer.unref();
  }

  public drain(): void {
    const entries = this.#emulator.requestLog();
    this.#emulator.clearRequestLog();
    for (const entry of entries) this.#count(entry);
  }

  public stop(): void {
    clearInterval(this.#timer);
    this.drain();
  }

  #count(entry: LoggedRequest): void {
    if (entry.status === 429) {
      this.throttled += 1;
      return;
    }
    if (entry.route === 'jwks') this.byGroup.jwks += 1;
    else if (entry.route === 'oauth2.token') this.byGroup.token += 1;
    else {
      this.byGroup.management += 1;
      const second = Math.floor(Date.parse(entry.at) / 1000);
      this.managementPerSecond.set(second, (this.managementPerSecond.get(second) ?? 0) + 1);
    }
  }
}

class Sink implements TextSink {
  #text = '';
  public write(text: string): boolean {
    this.#text += text;
    return true;
  }
  public take(): string {
    const text = this.#text;
    this.#text = '';
    return text;
  }
}

/** Every AWS call the run's functions and CLI make, at the gateway: how many, and where the time goes. */
class AwsTally {
  public calls = 0;
  readonly #byAction = new Map<string, { calls: number; ms: number }>();

  public count(call: AwsCall): void {
    this.calls += 1;
    const key = `${call.service}.${call.action}`;
    const entry = this.#byAction.get(key) ?? { calls: 0, ms: 0 };
    entry.calls += 1;
    entry.ms += call.ms;
    this.#byAction.set(key, entry);
  }

  /** The actions that took the most time at the gateway, with their count and mean milliseconds. */
  public slowest(limit: number): Record<string, { calls: number; meanMs: number }> {
    return Object.fromEntries(
      [...this.#byAction.entries()]
        .sort(([, a], [, b]) => b.ms - a.ms)
        .slice(0, limit)
        .map(([key, { calls, ms }]) => [key, { calls, meanMs: Math.round(ms / calls) }]),
    );
  }
}

/** `npm run bench -- fleet`. */
export async function fleetBench(context: BenchContext, options: FleetBenchOptions): Promise<BenchResult> {
  let peakRss = process.memoryUsage.rss();
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, RSS_SAMPLE_MS);
  rssTimer.unref();
  const setupStarted = performance.now();
  context.say(
    `starting the sandbox with ${options.clients} clients (registered at the emulator, enrolled in moto, in the registry)`,
  );
  let enrolled = 0;
  const sandbox = await Sandbox.start({
    config: fleetConfig(options),
    // Real time: the budget's windows and the state machine's BudgetWait retries as deployed.
    timeScale: 1,
    say: (line) => {
      if (!line.startsWith('registered ')) return context.say(line);
      enrolled += 1;
      if (enrolled % 500 === 0) context.say(`enrolled ${enrolled}/${options.clients} clients`);
    },
    signal: context.signal,
  });
  try {
    const emulator = sandbox.emulator;
    if (emulator === undefined) throw new Error('the fleet benchmark needs the Stytch emulator');
    const setupS = (performance.now() - setupStarted) / 1000;
    emulator.modes.set({
      fixedWindowRateLimit: {
        management: { requests: options.stytchRps, windowMs: 1000 },
        token: { requests: options.stytchRps, windowMs: 1000 },
      },
    });
    const maxConcurrency = options.maxConcurrency ?? concurrencyFor(options.stytchRps, options.clients);
    context.say(
      `Stytch emulator: ${options.stytchRps} requests per 1,000 ms per group; the shared budget the same; ` +
        `${options.trigger} fleet run of ${options.clients} clients, at most ${maxConcurrency} at once`,
    );
    const tally = new StytchTally(emulator);
    const awsTally = new AwsTally();
    const stopObserving = sandbox.observeAwsCalls((call) => awsTally.count(call));
    const env = { ...sandbox.cliEnv(), ROTATOR_STYTCH_REQUESTS_PER_SECOND: String(options.stytchRps) };
    const stdout = new Sink();
    const stderr = new Sink();
    const io: CliIo = { stdout, stderr, env, signal: context.signal };
    const argv = [
      options.trigger === 'leak' ? 'emergency' : 'rotate',
      '--all',
      '--max-concurrency',
      String(maxConcurrency),
      '--reason',
      'npm run bench -- fleet',
      '--no-wait',
      '--json',
    ];
    peakRss = process.memoryUsage.rss();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const code = await exec(argv, io);
    if (code !== 0) throw new Error(`rotator ${argv.join(' ')} exited ${code}: ${stderr.take().trim()}`);
    const { executionArn, fleetRun } = JSON.parse(stdout.take()) as {
      executionArn: string;
      fleetRun: string;
    };
    const ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
    // Progress from the rotation workflow's executions, in the process: the run's records (what
    // `rotator status --fleet` reads) are read once, at the end. Their index is a query moto answers
    // by scanning the whole ledger table under its one DynamoDB lock, which every second held up the
    // rotations being measured.
    let ended = 0;
    const stopCounting = sandbox.executor.onExecutionEnded(() => {
      ended += 1;
    });
    let described = sandbox.fleetExecutor.describeExecution(executionArn);
    let lastSaid = 0;
    while (described.status === 'RUNNING') {
      context.signal.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      described = sandbox.fleetExecutor.describeExecution(executionArn);
      const s = (performance.now() - started) / 1000;
      if (s - lastSaid < PROGRESS_EVERY_S && described.status === 'RUNNING') continue;
      lastSaid = s;
      context.say(
        `[${s.toFixed(0)} s] ${ended}/${options.clients} rotations ended; Stytch management ${tally.byGroup.management} ` +
          `(${(tally.byGroup.management / s).toFixed(1)}/s), 429s ${tally.throttled}; AWS ${(awsTally.calls / s).toFixed(0)} calls/s; RSS ${mb(process.memoryUsage.rss())} MB`,
      );
    }
    stopCounting();
    const wallS = (performance.now() - started) / 1000;
    // Deliveries that failed every attempt (on AWS: the target's dead-letter queue), by rule and target.
    await sandbox.settle();
    const undelivered: Record<string, number> = {};
    for (const failure of sandbox.gatewayFailures) {
      // Targets the sandbox does not model (the monitoring topic): not a delivery that failed.
      if (failure.reason.startsWith(NOT_MODELLED_TARGET)) continue;
      const key = `${failure.detailType} → ${failure.target}`;
      undelivered[key] = (undelivered[key] ?? 0) + 1;
    }
    const cpu = process.cpuUsage(cpuBefore);
    tally.stop();
    stopObserving();
    const records = await ledger.listFleetRunRotations(fleetRun);
    const rotated = new Set(records.filter((r) => r.status === 'completed').map((r) => r.clientId)).size;
    // A 429 that reached a rotation as its failure: a record that ended failed with RateLimited.
    const failedRecords = records.filter((r) => r.status === 'failed' || r.status === 'cancelled');
    let unhandled429 = 0;
    for (const record of failedRecords.slice(0, 1000)) {
      const [full] = await ledger.listRotations(record.clientId, 1);
      if (full?.error?.name === 'RateLimitedError' || /rate.?limit|429/i.test(full?.error?.message ?? '')) {
        unhandled429 += 1;
      }
    }
    const perSecond = [...tally.managementPerSecond.values()];
    // The steady state: the seconds between the first and last full ones.
    const fullSeconds = perSecond.slice(1, -1);
    const document = {
      clients: options.clients,
      trigger: options.trigger,
      maxConcurrency,
      wallS: round2(wallS),
      achievedRps: round2(tally.byGroup.management / wallS),
      limitRps: options.stytchRps,
      steadyRps: fullSeconds.length === 0 ? null : round2(median(fullSeconds)),
      tokenRps: round2(tally.byGroup.token / wallS),
      rotated,
      failed: options.clients - rotated,
      unhandled429,
      throttled429: tally.throttled,
      status: described.status,
      stytchRequests: { ...tally.byGroup },
      undeliveredEvents: undelivered,
      awsCalls: awsTally.calls,
      awsCallsPerSecond: round2(awsTally.calls / wallS),
      slowestAwsActions: awsTally.slowest(8),
      cpuS: round2((cpu.user + cpu.system) / 1e6),
      peakRssMb: mb(peakRss),
      setupS: round2(setupS),
    };
    const targets: Target[] = [
      {
        name: `every client rotated (${options.clients}), none failed`,
        ok: rotated === options.clients && described.status === 'SUCCEEDED',
        detail: `${rotated} rotated, ${document.failed} not; the run ${described.status}`,
      },
      {
        name: 'no 429 reached a rotation',
        ok: unhandled429 === 0,
        detail: `${unhandled429} (the emulator sent ${tally.throttled})`,
      },
      {
        name: `achievedRps >= ${MIN_ACHIEVED_SHARE * 100}% of the limit (${options.stytchRps})`,
        ok: document.achievedRps >= options.stytchRps * MIN_ACHIEVED_SHARE,
        detail: `${document.achievedRps} management requests/s over ${document.wallS} s (steady ${document.steadyRps ?? '?'}/s)`,
      },
      {
        name: 'every event delivered to its targets',
        ok: Object.keys(undelivered).length === 0,
        detail:
          Object.entries(undelivered)
            .map(([key, count]) => `${key}: ${count} undelivered`)
            .join('; ') || 'all delivered',
      },
      {
        name: `peak RSS <= ${MAX_PEAK_RSS_MB} MB`,
        ok: document.peakRssMb <= MAX_PEAK_RSS_MB,
        detail: `${document.peakRssMb} MB`,
      },
    ];
    return {
      document,
      rows: [
        [
          'clients',
          `${options.clients} (${options.trigger}, at most ${maxConcurrency} at once); set up in ${document.setupS} s`,
        ],
        ['wall', `${document.wallS} s (CPU ${document.cpuS} s)`],
        [
          'Stytch',
          `${document.achievedRps} management req/s of ${options.stytchRps} (steady ${document.steadyRps ?? '?'}), ${document.tokenRps} token req/s; ${tally.throttled} 429s sent, ${unhandled429} reached a rotation`,
        ],
        ['rotated', `${rotated} of ${options.clients}`],
        [
          'AWS',
          `${document.awsCalls} calls (${document.awsCallsPerSecond}/s); most time: ${Object.entries(
            document.slowestAwsActions,
          )
            .map(([action, { calls, meanMs }]) => `${action} ${calls}× ${meanMs} ms`)
            .join(', ')}`,
        ],
        ['peak RSS', `${document.peakRssMb} MB`],
      ],
      targets,
    };
  } finally {
    clearInterval(rssTimer);
    context.say('stopping the sandbox');
    await sandbox.stop();
  }
}

const round2 = (value: number): number => Math.round(value * 100) / 100;
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
