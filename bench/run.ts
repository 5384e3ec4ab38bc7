import { parseArgs } from 'node:util';
import {
  type ApplyBenchOptions,
  applyBench,
  DEFAULT_CLIENTS,
  MAX_CLIENTS,
  parseApplyBenchOptions,
} from './applyBench.js';
import { bundlesBench, MAX_BUNDLE_BYTES, MAX_COLD_IMPORT_MS } from './bundlesBench.js';
import { cliBench } from './cliBench.js';
import { consumerBench } from './consumerBench.js';
import { CONTAINMENT_TARGET_MS, containmentBench } from './containmentBench.js';
import {
  DEFAULT_FLEET_CLIENTS,
  DEFAULT_FLEET_RPS,
  type FleetBenchOptions,
  fleetBench,
  MAX_FLEET_CLIENTS,
  MAX_PEAK_RSS_MB,
  MIN_ACHIEVED_SHARE,
  parseFleetBenchOptions,
} from './fleetBench.js';
import type { BenchContext, BenchResult } from './harness.js';
import { leakBench } from './leakBench.js';
import { loadBench } from './loadBench.js';
import { MAX_AWS_CALLS, MAX_RATIO, rotationBench } from './rotationBench.js';

// `npm run bench -- <consumer|load|leak|containment|rotation|apply|fleet|bundles|cli> [--json]`: all but bundles and cli
// run in the sandbox; bundles builds the Lambda bundles and imports them.

const USAGE =
  'usage: npm run bench -- <consumer|load|leak|containment|rotation|apply|fleet|bundles|cli> [--json] [apply, fleet or bundles options]';

const HELP = `${USAGE}

consumer, load, leak, containment, rotation, apply and fleet each run in their own sandbox (moto_server behind the sandbox gateway, the Stytch emulator,
the synthesized state machine; see docs/sandbox.md). consumer and load measure the consumer
library (consumer/): the sample config's m2m-client-test-billing-worker is rotated by hand
(trigger "manual") 10 times back to back, each rotation waiting for the benchmark's library
consumer to report healthy on the pending secret before it completes. leak measures the leak
paths: how fast a reported secret stops working; containment, how fast a token minted with it does.

  consumer  hit path: ns per accessToken() with the token cached, against Powertools getSecret
            + the Stytch Node SDK's m2m.token per call (target: ratio >= 20); then a library
            consumer and a naive one (secret cached 1 h, no retry) each ask for a token every
            20 ms through the 10 rotations (targets: library 0 failed, naive > 0 failed).
            JSON: {"hitPath":{"libraryNsPerOp","baselineNsPerOp","ratio"},"rotations",
                   "failedTokenRequests":{"library","naive1h"}, ...extra figures}
  load      200 concurrent workers share one credentials object and ask for tokens back to back
            (every call renews: tokenSkewSeconds 86400) through the 10 rotations (targets: 0
            failed, secret reads <= 2 + 4 per rotation, under 60 s).
            JSON: {"workers","rotations","tokenRequests","failed","secretReads", ...extra figures}
  leak      how long a leaked secret stays alive after it is reported, 3 rounds per path: leak
            report --client-id (no rotation in progress), a GitHub alert through the webhook, and
            preemption of a rotation in progress (the current secret leaked; the pending one
            leaked); from the report to the first invalid_client for the leaked secret (target:
            every one dead within 10 s in the sandbox; deployed, Lambda and Step Functions add
            their latency, and tokens minted before stay valid until they expire).
            JSON: {"rounds","paths":[{"path","msToDead":[...],"medianMs","maxMs"}]}
  containment
            how long a token minted with a leaked secret before the report keeps working, 5 rounds
            per leak path (as leak): each round the attacker mints a token with the secret about
            to leak, the demo resource server (the verifier) accepts it, the leak is reported, and
            the clock runs to the demo API's first 401 for that token (target: every one within
            ${CONTAINMENT_TARGET_MS / 1000} s). Next to it, a plain JWKS check: the token's remaining lifetime.
            JSON: {"rounds","targetMs","paths":[{"path","msToRefused":[...],"medianMs","maxMs",
                   "plainJwks":{"medianMs","maxMs"}}]}
  rotation  what one rotation costs: a manual rotation of m2m-client-test-billing-worker with no
            expected consumers, 1 warm-up + 5 measured; every AWS call the rotator's functions sign
            (counted at the gateway) and every request the Stytch emulator answers, the execution's
            duration (system time) and state transitions; the floor, measured in the same run, is
            the sum of the round trips no rotation can do without (6 AWS, 5 Stytch; each the median
            of 7 on scratch resources). Targets: <= ${MAX_AWS_CALLS} AWS calls, system time <= ${MAX_RATIO}x the floor.
            JSON: {"awsCalls","stytchCalls","systemMs","floorMs","ratio","transitions","rounds",
                   "calls":{"<service>.<action>":n},"floor":[{"kind","name","medianMs"}]}
  apply     \`rotator apply -f\` of a fleet, in-process against the sandbox (the sample config's clients
            are kept): a clients file of --clients entries (fleet-00001..., two scopes, a rate(30 days)
            schedule with a flexible window, one expected consumer); timed in one run: the plan
            (--dry-run: N creates), the apply (N creates), a second apply (targets: nothing to do, no
            Stytch call) and the plan of the file with one entry changed (target: one change); each
            with the Stytch requests the emulator answered, the AWS calls through the gateway, the CPU
            time of this process and of moto_server, and the RSS (sampled every 250 ms, and maxRSS).
            Targets: every client created and registered, 0 failed.
            JSON: {"clients","planS","applyS","secondApplyS","changePlanS","created","failed",
                   "registered","stytchCalls":{"plan","apply","secondApply","changePlan"},
                   "awsCalls":{...},"peakRssMb", ...,"phases":[{"phase","s","cpuS","stytch","aws",...}]}
            --clients <n>      entries in the file (default ${DEFAULT_CLIENTS}, 1-${MAX_CLIENTS})
            --concurrency <n>  passed to apply --concurrency (default: apply's own)
            --stytch-rps <n>   the Stytch emulator's management routes limited to n requests per
                               1,000 ms window (fixed window; default: no limit)
  fleet     a fleet run over --clients clients (fleet-00001..., no expected consumer, enrolled as the
            sandbox enrols its own), the emulator enforcing --stytch-rps requests per 1,000 ms per
            route group (management, token; fixed windows, no Retry-After) and the deployment's
            shared budget set to the same figure; \`rotator emergency --all\` (or \`rotate --all\`
            with --trigger manual) through the fleet workflow, in real time. achievedRps is the
            management requests Stytch admitted per second of the run (the group a rotation spends
            most of); unhandled429 the rotations that ended on a 429. Targets: every client rotated,
            0 failed, 0 unhandled429, achievedRps >= ${MIN_ACHIEVED_SHARE * 100}% of the limit, peak RSS <= ${MAX_PEAK_RSS_MB} MB.
            JSON: {"clients","wallS","achievedRps","limitRps","rotated","failed","unhandled429",
                   "peakRssMb","trigger","maxConcurrency","steadyRps","tokenRps","throttled429",
                   "status","stytchRequests","cpuS","setupS"}
            --clients <n>          clients (default ${DEFAULT_FLEET_CLIENTS}, 1-${MAX_FLEET_CLIENTS})
            --stytch-rps <n>       the limit and the budget (default ${DEFAULT_FLEET_RPS})
            --max-concurrency <n>  of the run (default: half the limit, at most the clients)
            --trigger leak|manual  emergency (default; may use the budget's reserve) or rotate
                                   (four fifths of the budget: the rest is kept for leaks)
  bundles   each Lambda function built as \`cdk synth\` builds it (lib/bundling.ts): the size of its
            index.mjs, the packages that fill it, and its cold import (a fresh node process per
            sample imports it; median and max). No sandbox. Targets: every index.mjs <= ${MAX_BUNDLE_BYTES / 1024} KB,
            every median <= ${MAX_COLD_IMPORT_MS} ms (on Node 24: pass --node).
            JSON: {"node","samples","sdk","emptyMs","functions":[{"name","bytes","packages",
                   "coldImportMs":{"median","max"}}]}
            --samples <n>   processes per function (default 15)
            --node <path>   the node binary that imports the bundles (default: this one)
            --sdk bundled   inline the AWS SDK instead of leaving it to the runtime (the comparison
                            in docs/benchmarks.md); the default is runtime, as deployed

  cli       the built rotator CLI as whole processes: \`node bin/rotator.mjs --help\` and \`--version\`,
            20 runs each after 2 warm-up runs, median and max, and a bare \`node -e 0\` for scale.
            No sandbox (run \`npm run build\` first). Target: --help median < 1 s.
            JSON: {"node","runs","help","version","nodeAlone"}, each {"command","ms","medianMs","maxMs"}

  --json      stdout holds exactly one JSON document; progress goes to stderr
  -h, --help  this text

Without --json a table of the same figures goes to stdout (progress to stderr).
Exit code: 0 every target met; 1 a target missed (named on stderr); 2 a usage error or the
benchmark could not run; 130 interrupted (SIGINT/SIGTERM; the sandbox is stopped first).
`;

/** Writes to stdout and resolves once the text is handed to the OS (before a `process.exit`). */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

function fail(message: string, code = 2): never {
  process.stderr.write(`npm run bench: ${message}\n`);
  process.exit(code);
}

let parsed: {
  values: {
    json?: boolean;
    help?: boolean;
    samples?: string;
    node?: string;
    sdk?: string;
    clients?: string;
    concurrency?: string;
    'stytch-rps'?: string;
    'max-concurrency'?: string;
    trigger?: string;
  };
  positionals: string[];
};
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      samples: { type: 'string' },
      node: { type: 'string' },
      sdk: { type: 'string' },
      clients: { type: 'string' },
      concurrency: { type: 'string' },
      'stytch-rps': { type: 'string' },
      'max-concurrency': { type: 'string' },
      trigger: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
} catch (error) {
  fail(`${error instanceof Error ? error.message : String(error)} (see npm run bench -- --help)`);
}
const { values, positionals } = parsed;
if (values.help) {
  await writeOut(HELP);
  process.exit(0);
}
const samples = values.samples === undefined ? undefined : Number(values.samples);
if (samples !== undefined && !(Number.isSafeInteger(samples) && samples >= 1 && samples <= 1000)) {
  fail(`--samples must be a whole number from 1 to 1000, not "${values.samples}"`);
}
if (values.sdk !== undefined && values.sdk !== 'runtime' && values.sdk !== 'bundled') {
  fail(`--sdk must be runtime or bundled, not "${values.sdk}"`);
}
const sdk = values.sdk;
const sharedFlagsGiven = values.clients !== undefined || values['stytch-rps'] !== undefined;
const applyOnlyFlagsGiven = values.concurrency !== undefined;
const fleetOnlyFlagsGiven = values['max-concurrency'] !== undefined || values.trigger !== undefined;
/** Set once the benchmark is known to be apply (below); read when it runs. */
let applyOptions: ApplyBenchOptions = { clients: DEFAULT_CLIENTS };
/** Set once the benchmark is known to be fleet (below); read when it runs. */
let fleetOptions: FleetBenchOptions = {
  clients: DEFAULT_FLEET_CLIENTS,
  stytchRps: DEFAULT_FLEET_RPS,
  trigger: 'leak',
};
const BENCHMARKS: Readonly<Record<string, (context: BenchContext) => Promise<BenchResult>>> = {
  consumer: consumerBench,
  load: loadBench,
  leak: leakBench,
  containment: containmentBench,
  rotation: rotationBench,
  apply: (context) => applyBench(context, applyOptions),
  fleet: (context) => fleetBench(context, fleetOptions),
  cli: cliBench,
  bundles: (context) =>
    bundlesBench(context, {
      ...(samples === undefined ? {} : { samples }),
      ...(values.node === undefined ? {} : { node: values.node }),
      ...(sdk === undefined ? {} : { sdk }),
    }),
};
if (positionals.length !== 1)
  fail(
    `name one benchmark: consumer, load, leak, containment, rotation, apply, fleet, bundles or cli (${USAGE})`,
  );
const name = positionals[0] ?? '';
const benchmark = BENCHMARKS[name];
if (benchmark === undefined) {
  fail(
    `unknown benchmark "${name}": the benchmarks are consumer, load, leak, containment, rotation, apply, fleet, bundles and cli`,
  );
}
if (name !== 'bundles' && (samples !== undefined || values.node !== undefined || sdk !== undefined)) {
  fail('--samples, --node and --sdk are options of bundles only');
}
if (name !== 'apply' && name !== 'fleet' && sharedFlagsGiven)
  fail('--clients and --stytch-rps are options of apply and fleet only');
if (name !== 'apply' && applyOnlyFlagsGiven) fail('--concurrency is an option of apply only');
if (name !== 'fleet' && fleetOnlyFlagsGiven)
  fail('--max-concurrency and --trigger are options of fleet only');
if (name === 'fleet') {
  try {
    fleetOptions = parseFleetBenchOptions(values);
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)} (see npm run bench -- --help)`);
  }
}
if (name === 'apply') {
  try {
    applyOptions = parseApplyBenchOptions(values);
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)} (see npm run bench -- --help)`);
  }
}

const json = values.json ?? false;
const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const stop = new AbortController();
let signals = 0;
const onSignal = (): void => {
  signals += 1;
  if (signals === 1) {
    say('interrupted: stopping the sandbox (again to quit at once)');
    stop.abort(new Error('interrupted'));
  } else {
    process.exit(130);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

let result: BenchResult;
try {
  result = await benchmark({ say, signal: stop.signal });
} catch (error) {
  if (stop.signal.aborted) fail('interrupted', 130);
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  fail(`${name} could not run: ${message.split('\n')[0]}`);
}

if (json) {
  await writeOut(`${JSON.stringify(result.document)}\n`);
} else {
  const width = Math.max(...result.rows.map(([label]) => label.length));
  const lines = [
    `benchmark: ${name}`,
    ...result.rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`),
  ];
  lines.push('', 'targets:');
  for (const target of result.targets) {
    lines.push(`  ${target.ok ? 'ok    ' : 'MISSED'}  ${target.name} (${target.detail})`);
  }
  await writeOut(`${lines.join('\n')}\n`);
}
const missed = result.targets.filter((target) => !target.ok);
for (const target of missed) say(`npm run bench: ${name}: target missed: ${target.name} (${target.detail})`);
process.exit(missed.length === 0 ? 0 : 1);
