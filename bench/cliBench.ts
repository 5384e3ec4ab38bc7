import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchResult } from './harness.js';

/**
 * `npm run bench -- cli`: how long `rotator --help` and `rotator --version` take as whole processes
 * (Node's start included), run as a user runs them: `node bin/rotator.mjs` on the built CLI
 * (dist/cli, `npm run build`). Each runs RUNS times after WARM_UP runs that fill the OS file cache;
 * the figures are the median and the max. No sandbox is needed.
 */

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = 20;
const WARM_UP = 2;
/** The target for `--help` (issue 15): well under a second, median. */
const HELP_TARGET_MS = 1000;

interface Timing {
  /** What Node ran: `bin/rotator.mjs --help`, `-e 0`. */
  readonly command: string;
  readonly ms: readonly number[];
  readonly medianMs: number;
  readonly maxMs: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Wall-clock ms of one `node …args` to its exit; throws if it does not exit 0. */
function timeOnce(args: readonly string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr.split('\n')[0] ?? ''}`);
  }
  return ms;
}

/** `node …args`, WARM_UP times untimed, then RUNS times timed. */
function timeProcess(args: readonly string[], context: BenchContext): Timing {
  for (let run = 0; run < WARM_UP; run += 1) timeOnce(args);
  const ms: number[] = [];
  for (let run = 0; run < RUNS && !context.signal.aborted; run += 1) ms.push(Math.round(timeOnce(args)));
  const command = args.join(' ');
  context.say(`node ${command}: ${ms.length} runs`);
  return { command, ms, medianMs: median(ms), maxMs: Math.max(...ms) };
}

export async function cliBench(context: BenchContext): Promise<BenchResult> {
  context.say(
    `timing the built CLI on Node ${process.version}: ${RUNS} runs each after ${WARM_UP} warm-up runs`,
  );
  const help = timeProcess(['bin/rotator.mjs', '--help'], context);
  const version = timeProcess(['bin/rotator.mjs', '--version'], context);
  // A bare Node process, for scale: the floor no CLI goes under.
  const nodeAlone = timeProcess(['-e', '0'], context);
  const row = (timing: Timing): string => `${timing.medianMs} ms / ${timing.maxMs} ms`;
  return {
    document: { node: process.version, runs: RUNS, help, version, nodeAlone },
    rows: [
      ['rotator --help (median / max)', row(help)],
      ['rotator --version (median / max)', row(version)],
      ['node -e 0, for scale (median / max)', row(nodeAlone)],
    ],
    targets: [
      {
        name: '--help median under 1 s',
        ok: help.medianMs < HELP_TARGET_MS,
        detail: `median ${help.medianMs} ms, target < ${HELP_TARGET_MS} ms`,
      },
    ],
  };
}
