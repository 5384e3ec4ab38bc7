import type { BenchContext, BenchResult } from './harness.js';
import { sleep } from './harness.js';
import { type LeakWorld, medianAndMax, POLL_MS, withLeakWorld } from './leakPaths.js';

const ROUNDS = 3;
/** A leaked secret must be dead within minutes; in the sandbox our own overhead should be seconds. */
const TARGET_MS = 10_000;

/** One measured path: from the report to the leaked secret refused at the token endpoint. */
interface PathFigures {
  readonly path: string;
  readonly msToDead: readonly number[];
  readonly medianMs: number;
  readonly maxMs: number;
}

/**
 * `npm run bench -- leak`: how long a leaked secret stays alive after it is reported, per path:
 * `leak report --client-id` (no rotation in progress), a GitHub secret-scanning alert through the
 * webhook, and preemption of a rotation in progress (the current secret leaked; the pending one
 * leaked). The clock runs from handing the report in to the first `invalid_client` for the leaked
 * secret at the Stytch emulator's token endpoint (polled every 20 ms).
 */
export async function leakBench(context: BenchContext): Promise<BenchResult> {
  return withLeakWorld(context, async (world, leakPaths) => {
    const untilDead = async (clientId: string, secret: string, t0: number): Promise<number> => {
      for (;;) {
        context.signal.throwIfAborted();
        const alive = await world.sandbox.stytchClient.token({ clientId, clientSecret: secret }).then(
          () => true,
          () => false,
        );
        if (!alive) return Math.round(performance.now() - t0);
        if (performance.now() - t0 > 120_000)
          throw new Error(`the leaked secret of ${clientId} lived past 120 s`);
        await sleep(POLL_MS);
      }
    };
    const round = async (world: LeakWorld, path: (typeof leakPaths)[number]): Promise<number> => {
      const { clientId, stage } = await path.prepare(world);
      const leaked = await world.secretAt(clientId, stage);
      const t0 = performance.now();
      await path.report(world, clientId, leaked);
      const ms = await untilDead(clientId, leaked, t0);
      // A preempted rotation's follow-up leak rotation waits for the silent consumer, then completes.
      await world.idle(clientId);
      return ms;
    };

    const paths: PathFigures[] = [];
    for (const path of leakPaths) {
      const msToDead: number[] = [];
      for (let i = 1; i <= ROUNDS; i += 1) {
        context.signal.throwIfAborted();
        const ms = await round(world, path);
        msToDead.push(ms);
        context.say(`${path.path} ${i}/${ROUNDS}: dead after ${ms} ms`);
      }
      paths.push({ path: path.path, msToDead, ...medianAndMax(msToDead) });
    }

    const targets = paths.map((figures) => ({
      name: `${figures.path}: every leaked secret dead within ${TARGET_MS / 1000} s`,
      ok: figures.maxMs <= TARGET_MS,
      detail: `median ${figures.medianMs} ms, max ${figures.maxMs} ms`,
    }));
    return {
      document: { rounds: ROUNDS, paths },
      rows: paths.map((figures) => [
        figures.path,
        `median ${figures.medianMs} ms, max ${figures.maxMs} ms (${figures.msToDead.join(', ')})`,
      ]),
      targets,
    };
  });
}
