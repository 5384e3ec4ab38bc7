import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { exec } from '#cli/exec.js';
import type { CliIo, TextSink } from '#cli/io.js';
import { parseClientsFile } from '#core/clientsFile.js';
import type { AwsCall } from '#sandbox/gateway/index.js';
import type { StytchEmulator } from '#sandbox/stytch-emulator/index.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { type BenchContext, type BenchResult, type Target, yieldToEventLoop } from './harness.js';

// `npm run bench -- apply [--clients N] [--concurrency N] [--stytch-rps N] [--json]`: what
// `rotator apply -f` of a fleet costs, in one sandbox: the plan of N creates (--dry-run), the apply
// of N creates, a second apply of the same file (plans nothing, calls Stytch not at all), and the
// plan of the file with one entry changed. The CLI runs in-process (as test/integration/cli-apply
// runs it), so the bench's RSS is the CLI's plus the sandbox's own Node parts (the gateway, the
// Stytch emulator); moto is a process of its own and is not in it.

export const DEFAULT_CLIENTS = 1000;
/** The clients file's own limit (`MAX_CLIENTS_FILE_ENTRIES`). */
export const MAX_CLIENTS = 20_000;
/** How often the RSS is sampled. */
const RSS_SAMPLE_MS = 250;
/** A phase's AWS calls are also counted per this many ms: whether the pace holds as the data grows. */
const PACE_MS = 5000;
/** Every entry's scopes; the changed entry adds {@link CHANGED_SCOPE}. */
const SCOPES = ['read:fleet', 'write:fleet'] as const;
export const CHANGED_SCOPE = 'admin:fleet';

/** The options of `npm run bench -- apply`. */
export interface ApplyBenchOptions {
  readonly clients: number;
  /** Passed to `apply --concurrency`; absent: apply's own default. */
  readonly concurrency?: number;
  /** The Stytch emulator's fixed-window management limit (requests per 1,000 ms); absent: none. */
  readonly stytchRps?: number;
}

/** The flags as `parseArgs` gives them (strings, absent when not given). */
export interface ApplyBenchFlags {
  readonly clients?: string | undefined;
  readonly concurrency?: string | undefined;
  readonly 'stytch-rps'?: string | undefined;
}

/** A whole number in [min, max], or the usage message. */
export function wholeNumber(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`--${flag} must be a whole number from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

/**
 * The apply benchmark's options from its flags. Throws an Error whose message is the usage problem.
 * `--concurrency` is only checked to be a whole number: apply checks its own range (exit 2).
 */
export function parseApplyBenchOptions(flags: ApplyBenchFlags): ApplyBenchOptions {
  const clients =
    flags.clients === undefined ? DEFAULT_CLIENTS : wholeNumber('clients', flags.clients, 1, MAX_CLIENTS);
  return {
    clients,
    ...(flags.concurrency === undefined
      ? {}
      : { concurrency: wholeNumber('concurrency', flags.concurrency, 1, 1_000_000) }),
    ...(flags['stytch-rps'] === undefined
      ? {}
      : { stytchRps: wholeNumber('stytch-rps', flags['stytch-rps'], 1, 1_000_000) }),
  };
}

/** The name of the fleet's `index`-th client (1-based): `fleet-00001`. */
export function fleetName(index: number): string {
  return `fleet-${String(index).padStart(5, '0')}`;
}

/**
 * A clients file (YAML) of `count` entries `fleet-00001`…, each with two scopes, a `rate(30 days)`
 * schedule with a 60-minute flexible window and one expected consumer. With `changed`, that entry
 * (1-based) has one more scope: a plan of the file shows one change.
 */
export function fleetClientsFile(count: number, options: { readonly changed?: number } = {}): string {
  const lines: string[] = [`# npm run bench -- apply: ${count} clients`, 'clients:'];
  for (let index = 1; index <= count; index += 1) {
    const scopes = index === options.changed ? [...SCOPES, CHANGED_SCOPE] : SCOPES;
    lines.push(
      `  - name: ${fleetName(index)}`,
      `    scopes: [${scopes.join(', ')}]`,
      '    schedule: { expression: rate(30 days), flexibleWindowMinutes: 60 }',
      '    policy: { expectedConsumers: [fleet-api] }',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** What one `apply --json` document says, without its actions (only counted). */
export interface ApplySummary {
  readonly dryRun: boolean;
  /** The plan's counts: create, adopt, change, unchanged, remove, keep. */
  readonly counts: Readonly<Record<string, number>>;
  readonly failed: number;
  /** `<action>:<result>` → how many (`create:done`, `create:planned`, `change:failed`, …). */
  readonly results: Readonly<Record<string, number>>;
  /** The first few failures' messages (the document holds one per failed client). */
  readonly errors: readonly string[];
}

const ERRORS_KEPT = 3;

/** Summarizes `apply --json`'s document in one pass over its actions; the document itself is not kept. */
export function summarizeApplyJson(text: string): ApplySummary {
  const document = JSON.parse(text) as {
    dryRun?: unknown;
    counts?: Record<string, number>;
    failed?: unknown;
    actions?: { action?: string; result?: string; error?: string }[];
  };
  if (typeof document.counts !== 'object' || !Array.isArray(document.actions)) {
    throw new Error('apply --json printed no {counts, actions} document');
  }
  const results: Record<string, number> = {};
  const errors: string[] = [];
  for (const action of document.actions) {
    const key = `${action.action ?? '?'}:${action.result ?? '?'}`;
    results[key] = (results[key] ?? 0) + 1;
    if (action.error !== undefined && errors.length < ERRORS_KEPT) errors.push(action.error.slice(0, 300));
  }
  return {
    dryRun: document.dryRun === true,
    counts: { ...document.counts },
    failed: typeof document.failed === 'number' ? document.failed : Number.NaN,
    results,
    errors,
  };
}

/** Rounds to 2 decimals. */
const round2 = (value: number): number => Math.round(value * 100) / 100;
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/**
 * Samples the RSS every {@link RSS_SAMPLE_MS} (and at each phase's start and end): the peak of the
 * phases (the sandbox's start, which peaks on its own, is left out) and of the current phase.
 */
class RssSampler {
  /** The peak of every phase so far. */
  public peak = 0;
  public phasePeak = 0;
  #inPhase = false;
  readonly #timer: NodeJS.Timeout;

  public constructor() {
    this.sample();
    this.#timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
    this.#timer.unref();
  }

  public sample(): number {
    const rss = process.memoryUsage.rss();
    if (this.#inPhase) {
      this.peak = Math.max(this.peak, rss);
      this.phasePeak = Math.max(this.phasePeak, rss);
    }
    return rss;
  }

  public startPhase(): void {
    this.#inPhase = true;
    this.phasePeak = 0;
    this.sample();
  }

  public endPhase(): void {
    this.sample();
    this.#inPhase = false;
  }

  public stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * CPU seconds of this process's children so far (moto_server is the one that lives through the
 * phases), from /proc; null where there is no /proc. Clock ticks are taken as Linux's 100 a second.
 */
async function childCpuSeconds(): Promise<number | null> {
  if (process.platform !== 'linux') return null;
  let ticks = 0;
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // After "(comm) ": state, ppid, … utime and stime are the 14th and 15th fields of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== process.pid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

/** A TextSink that keeps what was written until taken. */
class Sink implements TextSink {
  public readonly isTTY = false;
  #chunks: string[] = [];

  public write(text: string): boolean {
    this.#chunks.push(text);
    return true;
  }

  /** What was written, and forgets it. */
  public take(): string {
    const text = this.#chunks.join('');
    this.#chunks = [];
    return text;
  }
}

/** Counts and time per key, for calls that are counted, never kept. */
class Tally {
  public calls = 0;
  public ms = 0;
  readonly #byKey = new Map<string, { n: number; ms: number }>();

  public add(key: string, ms: number): void {
    this.calls += 1;
    this.ms += ms;
    const known = this.#byKey.get(key);
    if (known === undefined) this.#byKey.set(key, { n: 1, ms });
    else {
      known.n += 1;
      known.ms += ms;
    }
  }

  /** `key` → `{n, ms}`, the most time first. */
  public byKey(): Record<string, { n: number; ms: number }> {
    return Object.fromEntries(
      [...this.#byKey]
        .sort(([, a], [, b]) => b.ms - a.ms)
        .map(([key, { n, ms }]) => [key, { n, ms: Math.round(ms) }]),
    );
  }
}

/** One timed run of `rotator apply`, and what it cost. */
export interface PhaseFigures {
  readonly phase: string;
  readonly argv: readonly string[];
  readonly s: number;
  readonly exitCode: number;
  /** CPU time of this Node process (the CLI, the gateway, the emulator) during the phase. */
  readonly cpuS: number;
  /** CPU time of the child processes (moto_server) during the phase; null without /proc. */
  readonly motoCpuS: number | null;
  readonly peakRssMb: number;
  readonly summary: ApplySummary;
  readonly stytch: {
    readonly calls: number;
    /** The calls still in the emulator's log (it keeps the last 10,000): `throttled` and `routes` are of these. */
    readonly logged: number;
    /** Answered 429 (the `--stytch-rps` limit). */
    readonly throttled: number;
    /** Summed server time (the emulator's), in ms. */
    readonly ms: number;
    readonly routes: Record<string, { n: number; ms: number }>;
  };
  /** The calls the CLI signed (with the operator's key), as the gateway saw them. */
  readonly aws: {
    readonly calls: number;
    /** Calls answered with an error status (>= 400; the SDK's retries are calls too), by `<action> <status>`. */
    readonly errors: Record<string, number>;
    /** Calls per {@link PACE_MS} (5 s) from the phase's start, the last interval partial. */
    readonly per5s: readonly number[];
    /** Summed gateway time (arrival to answer), in ms. */
    readonly ms: number;
    readonly actions: Record<string, { n: number; ms: number }>;
    /** Calls in the same time signed by others (the sandbox's demo resource server polling its document): not counted. */
    readonly others: Record<string, { n: number; ms: number }>;
  };
}

/** A Stytch budget the emulator without a limit never makes the CLI wait for. */
const UNLIMITED_STYTCH_RPS = 10_000;

/** Runs `rotator apply` in-process against the sandbox, one phase at a time, counting what each costs. */
class ApplyRunner {
  readonly #sandbox: Sandbox;
  readonly #emulator: StytchEmulator;
  readonly #context: BenchContext;
  readonly #rss: RssSampler;
  readonly #env: Record<string, string>;
  readonly #operatorKey: string;
  readonly #started = performance.now();
  /** The emulator's last request sequence number seen: a phase's Stytch calls are the numbers after it. */
  #lastSeq: number;

  public constructor(
    sandbox: Sandbox,
    emulator: StytchEmulator,
    context: BenchContext,
    rss: RssSampler,
    stytchRps: number | undefined,
  ) {
    this.#sandbox = sandbox;
    this.#emulator = emulator;
    this.#context = context;
    this.#rss = rss;
    // The shared budgets the CLI takes from: the emulator's limit when it has one (else one that
    // never binds), and Secrets Manager's own 50 writes a second.
    this.#env = {
      ...sandbox.cliEnv(),
      ROTATOR_STYTCH_REQUESTS_PER_SECOND: String(stytchRps ?? UNLIMITED_STYTCH_RPS),
      ROTATOR_SECRETS_MANAGER_WRITES_PER_SECOND: '50',
    };
    this.#operatorKey = this.#env.AWS_ACCESS_KEY_ID ?? '';
    this.#lastSeq = emulator.requestLog().at(-1)?.seq ?? 0;
    emulator.clearRequestLog();
  }

  /** Seconds since the runner started, for the progress lines. */
  public elapsed(): string {
    return `${((performance.now() - this.#started) / 1000).toFixed(1)} s`;
  }

  public async run(phase: string, argv: readonly string[]): Promise<PhaseFigures> {
    this.#context.signal.throwIfAborted();
    this.#context.say(`[${this.elapsed()}] ${phase}: started (rotator ${argv.join(' ')})`);
    const aws = new Tally();
    const others = new Tally();
    const awsErrors: Record<string, number> = {};
    const stopObserving = this.#sandbox.observeAwsCalls((call: AwsCall) => {
      if (call.accessKeyId !== this.#operatorKey) {
        others.add(`${call.service}.${call.action}`, call.ms);
        return;
      }
      const key = `${call.service}.${call.action}`;
      aws.add(key, call.ms);
      if (call.status >= 400)
        awsErrors[`${key} ${call.status}`] = (awsErrors[`${key} ${call.status}`] ?? 0) + 1;
    });
    const stdout = new Sink();
    const stderr = new Sink();
    const io: CliIo = { stdout, stderr, env: this.#env, signal: this.#context.signal };
    const per5s: number[] = [];
    let paced = 0;
    const pace = setInterval(() => {
      per5s.push(aws.calls - paced);
      paced = aws.calls;
    }, PACE_MS);
    pace.unref();
    this.#rss.startPhase();
    const motoBefore = await childCpuSeconds();
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    let exitCode: number;
    try {
      exitCode = await exec(argv, io);
      // The gateway reports a call once its answer is sent: let the last reports arrive.
      await yieldToEventLoop();
    } finally {
      stopObserving();
      clearInterval(pace);
      this.#rss.endPhase();
    }
    per5s.push(aws.calls - paced);
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const motoAfter = await childCpuSeconds();
    const errors = stderr.take();
    if (exitCode !== 0 && exitCode !== 1) {
      throw new Error(
        `${phase}: rotator apply exited ${exitCode}: ${errors.trim().split('\n').at(-1) ?? ''}`,
      );
    }
    const summary = summarizeApplyJson(stdout.take());
    const stytch = this.#stytchCalls();
    const figures: PhaseFigures = {
      phase,
      argv,
      s: round2(s),
      exitCode,
      cpuS: round2((cpu.user + cpu.system) / 1e6),
      motoCpuS: motoBefore === null || motoAfter === null ? null : round2(motoAfter - motoBefore),
      peakRssMb: mb(this.#rss.phasePeak),
      summary,
      stytch,
      aws: {
        calls: aws.calls,
        errors: awsErrors,
        per5s,
        ms: Math.round(aws.ms),
        actions: aws.byKey(),
        others: others.byKey(),
      },
    };
    this.#context.say(
      `[${this.elapsed()}] ${phase}: ended in ${figures.s} s (exit ${exitCode}; ${planLine(summary)}; ` +
        `${stytch.calls} Stytch calls, ${aws.calls} AWS calls; CPU ${figures.cpuS} s, moto ${figures.motoCpuS ?? '?'} s; ` +
        `peak RSS ${figures.peakRssMb} MB)`,
    );
    return figures;
  }

  /** The Stytch requests since the last phase: counted by sequence number (the log keeps 10,000), by route from the log. */
  #stytchCalls(): PhaseFigures['stytch'] {
    const entries = this.#emulator.requestLog();
    const lastSeq = entries.at(-1)?.seq ?? this.#lastSeq;
    const calls = lastSeq - this.#lastSeq;
    this.#lastSeq = lastSeq;
    const routes = new Tally();
    let throttled = 0;
    for (const entry of entries) {
      routes.add(entry.route ?? `${entry.method} (no route)`, entry.durationMs);
      if (entry.status === 429) throttled += 1;
    }
    this.#emulator.clearRequestLog();
    return { calls, logged: entries.length, throttled, ms: Math.round(routes.ms), routes: routes.byKey() };
  }
}

/** `plan: 1000 create` / `plan: 1 change, 999 unchanged, 0 failed` from a summary. */
function planLine(summary: ApplySummary): string {
  const counts = summary.counts;
  const parts = ['create', 'adopt', 'change', 'remove', 'unchanged']
    .filter((action) => (counts[action] ?? 0) > 0)
    .map((action) => `${counts[action]} ${action}`);
  return `plan: ${parts.length === 0 ? 'nothing' : parts.join(', ')}${summary.dryRun ? '' : `, ${summary.failed} failed`}`;
}

/** The sandbox with the Stytch emulator, its management routes limited to `stytchRps` per second when asked. */
async function startSandbox(
  context: BenchContext,
  options: ApplyBenchOptions,
): Promise<{ sandbox: Sandbox; emulator: StytchEmulator }> {
  context.say('starting the sandbox: moto_server, the Stytch emulator, the state machine from cdk synth');
  const sandbox = await Sandbox.start({
    config: sampleSandboxConfig(),
    say: context.say,
    signal: context.signal,
  });
  const emulator = sandbox.emulator;
  if (emulator === undefined) {
    await sandbox.stop();
    throw new Error('the apply benchmark needs the Stytch emulator');
  }
  if (options.stytchRps !== undefined) {
    emulator.modes.set({
      fixedWindowRateLimit: { management: { requests: options.stytchRps, windowMs: 1000 } },
    });
    context.say(`Stytch emulator: management routes limited to ${options.stytchRps} requests per 1,000 ms`);
  }
  return { sandbox, emulator };
}

/** How many registrations apply made for the fleet (the registry, read after the apply). */
async function fleetRegistrations(sandbox: Sandbox): Promise<number> {
  const ledger = new DynamoLedger({
    client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
    tableName: sandbox.tableName,
  });
  let count = 0;
  for (const registration of await ledger.listRegistrations()) {
    if (registration.registrar === 'apply' && registration.name.startsWith('fleet-')) count += 1;
  }
  return count;
}

/**
 * `npm run bench -- apply`: `rotator apply -f` of a fleet of `options.clients` clients, in one
 * sandbox: the plan (--dry-run), the apply, a second apply (nothing to do), the plan of the file
 * with one entry changed; each timed, with the Stytch and AWS calls it made and the RSS.
 */
export async function applyBench(context: BenchContext, options: ApplyBenchOptions): Promise<BenchResult> {
  const rss = new RssSampler();
  const dir = await mkdtemp(join(tmpdir(), 'rotator-apply-bench-'));
  try {
    const file = join(dir, 'fleet.yaml');
    const changedFile = join(dir, 'fleet-changed.yaml');
    const changed = Math.ceil(options.clients / 2);
    let text = fleetClientsFile(options.clients);
    const fileBytes = Buffer.byteLength(text);
    await writeFile(file, text);
    // The parse alone (part of every phase): how much of a plan is reading the file.
    const parseStarted = performance.now();
    parseClientsFile(text, file);
    const parseS = round2((performance.now() - parseStarted) / 1000);
    text = '';
    await writeFile(changedFile, fleetClientsFile(options.clients, { changed }));
    context.say(
      `clients file: ${options.clients} entries, ${fileBytes} bytes, parsed in ${parseS} s (${file})`,
    );

    const { sandbox, emulator } = await startSandbox(context, options);
    try {
      const baselineRssMb = mb(rss.sample());
      const runner = new ApplyRunner(sandbox, emulator, context, rss, options.stytchRps);
      const concurrency =
        options.concurrency === undefined ? [] : ['--concurrency', String(options.concurrency)];
      const plan = await runner.run('plan', ['apply', '-f', file, '--dry-run', '--json']);
      const applied = await runner.run('apply', ['apply', '-f', file, ...concurrency, '--json']);
      const registered = await fleetRegistrations(sandbox);
      const second = await runner.run('secondApply', ['apply', '-f', file, ...concurrency, '--json']);
      const changePlan = await runner.run('changePlan', ['apply', '-f', changedFile, '--dry-run', '--json']);
      return report({
        options,
        fileBytes,
        parseS,
        baselineRssMb,
        registered,
        phases: { plan, apply: applied, secondApply: second, changePlan },
        rss,
      });
    } finally {
      context.say('stopping the sandbox');
      await sandbox.stop();
    }
  } finally {
    rss.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

interface Measured {
  readonly options: ApplyBenchOptions;
  readonly fileBytes: number;
  readonly parseS: number;
  readonly baselineRssMb: number;
  readonly registered: number;
  readonly phases: {
    readonly plan: PhaseFigures;
    readonly apply: PhaseFigures;
    readonly secondApply: PhaseFigures;
    readonly changePlan: PhaseFigures;
  };
  readonly rss: RssSampler;
}

/** The document, the table and the targets. */
function report(measured: Measured): BenchResult {
  const { options, phases } = measured;
  const { plan, apply, secondApply, changePlan } = phases;
  const n = options.clients;
  const created = apply.summary.results['create:done'] ?? 0;
  const changesOf = (summary: ApplySummary): number =>
    ['create', 'adopt', 'change', 'remove'].reduce((sum, action) => sum + (summary.counts[action] ?? 0), 0);
  // The whole process's peak (KiB), the sandbox's start included; the sampled peak is the phases'.
  const maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const perPhase = <T>(pick: (figures: PhaseFigures) => T) => ({
    plan: pick(plan),
    apply: pick(apply),
    secondApply: pick(secondApply),
    changePlan: pick(changePlan),
  });
  const document = {
    clients: n,
    concurrency: options.concurrency ?? null,
    stytchRps: options.stytchRps ?? null,
    planS: plan.s,
    applyS: apply.s,
    secondApplyS: secondApply.s,
    changePlanS: changePlan.s,
    created,
    failed: apply.summary.failed,
    registered: measured.registered,
    secondApplyChanges: changesOf(secondApply.summary),
    changePlanChanges: changesOf(changePlan.summary),
    stytchCalls: perPhase((figures) => figures.stytch.calls),
    stytchThrottled: perPhase((figures) => figures.stytch.throttled),
    awsCalls: perPhase((figures) => figures.aws.calls),
    cpuS: perPhase((figures) => figures.cpuS),
    motoCpuS: perPhase((figures) => figures.motoCpuS),
    peakRssMb: mb(measured.rss.peak),
    maxRssMb,
    baselineRssMb: measured.baselineRssMb,
    fileBytes: measured.fileBytes,
    parseS: measured.parseS,
    errors: apply.summary.errors,
    phases: [plan, apply, secondApply, changePlan],
  };
  const targets: Target[] = [
    {
      name: `the plan creates every client (${n})`,
      ok: plan.summary.counts.create === n && changesOf(plan.summary) === n,
      detail: planLine(plan.summary),
    },
    {
      name: `apply created and registered every client (${n}), none failed`,
      ok: created === n && apply.summary.failed === 0 && measured.registered === n && apply.exitCode === 0,
      detail: `${created} created, ${apply.summary.failed} failed, ${measured.registered} registered${apply.summary.errors.length > 0 ? `; first error: ${apply.summary.errors[0]}` : ''}`,
    },
    {
      name: 'the second apply changes nothing',
      ok: changesOf(secondApply.summary) === 0 && secondApply.summary.counts.unchanged === n,
      detail: planLine(secondApply.summary),
    },
    {
      name: 'the second apply makes no Stytch call',
      ok: secondApply.stytch.calls === 0,
      detail: `${secondApply.stytch.calls} Stytch calls`,
    },
    {
      name: 'the plan of the changed file shows one change',
      ok: changePlan.summary.counts.change === 1 && changesOf(changePlan.summary) === 1,
      detail: planLine(changePlan.summary),
    },
  ];
  const row = (label: string, figures: PhaseFigures): readonly [string, string] => [
    label,
    `${figures.s} s (CPU ${figures.cpuS} s, moto ${figures.motoCpuS ?? '?'} s), ${figures.stytch.calls} Stytch calls, ${figures.aws.calls} AWS calls, peak RSS ${figures.peakRssMb} MB`,
  ];
  return {
    document,
    rows: [
      [
        'clients',
        `${n} (${measured.fileBytes} bytes of YAML, parsed in ${measured.parseS} s); concurrency ${options.concurrency ?? "apply's default"}${options.stytchRps === undefined ? '' : `; Stytch ${options.stytchRps} req/s`}`,
      ],
      row(`plan (--dry-run, ${n} creates)`, plan),
      row(`apply (${created} created, ${apply.summary.failed} failed)`, apply),
      row('second apply (nothing to do)', secondApply),
      row('plan, one entry changed', changePlan),
      [
        'peak RSS',
        `${document.peakRssMb} MB in the phases, sampled (after the sandbox started: ${measured.baselineRssMb} MB; the process's maxRSS, its start included: ${maxRssMb} MB)`,
      ],
    ],
    targets,
  };
}
