import {
  type BenchContext,
  type BenchResult,
  describeFailure,
  EventFanOut,
  FailureTally,
  rotateBackToBack,
  sleep,
  subscribedConsumer,
  summarizeOutcomes,
  withSandbox,
  yieldToEventLoop,
} from './harness.js';

const CONSUMER = 'bench-load';
const WORKERS = 200;
const ROTATIONS = 10;
const TAIL_MS = 500;
/** The whole run (sandbox start to stop) should stay under this. */
const WALL_TARGET_MS = 60_000;
/** The rotations stop being started after this much time (the run stays bounded even when they are slow). */
const ROTATIONS_BUDGET_MS = 45_000;
/**
 * Secret reads the library may make: the first read, then per rotation the pending check's
 * AWSPENDING read, the re-read after `Rotation Completed`, and room for an `invalid_client` re-read
 * and a poll that saw a label move. Anything above this grows with requests, not with rotations.
 */
const secretReadsBound = (rotations: number): number => 2 + 4 * rotations;
/** How the workers' calls use the token cache. */
const TOKEN_CACHE =
  'renew-every-call: tokenSkewSeconds 86400 ≥ the 1 h token lifetime, so no call is served from the cache; concurrent calls share the one token request in flight';

/**
 * `npm run bench -- load`: 200 concurrent workers of one service share one credentials object and
 * ask for tokens back to back through 10 rotations.
 */
export async function loadBench(context: BenchContext): Promise<BenchResult> {
  const wallStart = performance.now();
  const events = new EventFanOut();
  return withSandbox(
    context,
    { expectedConsumers: [CONSUMER], events },
    async (sandbox, clientId, secretId) => {
      const subscribed = await subscribedConsumer(sandbox, secretId, CONSUMER, events);
      const credentials = subscribed.credentials;
      await credentials.current();

      let running = true;
      let calls = 0;
      const failures = new FailureTally();
      const worker = async (): Promise<void> => {
        while (running) {
          calls += 1;
          try {
            await credentials.accessToken();
          } catch (error) {
            failures.add(describeFailure(error));
          }
          await yieldToEventLoop();
        }
      };
      const workers = Array.from({ length: WORKERS }, () => worker());
      context.say(`${WORKERS} workers share one credentials object and ask for tokens back to back`);
      let outcomes: Awaited<ReturnType<typeof rotateBackToBack>> = [];
      const rotationsStart = performance.now();
      try {
        outcomes = await rotateBackToBack(sandbox, clientId, ROTATIONS, {
          signal: context.signal,
          say: context.say,
          deadline: Date.now() + ROTATIONS_BUDGET_MS,
        });
        await sleep(TAIL_MS);
      } finally {
        running = false;
        await Promise.all(workers);
        await subscribed.close();
      }
      context.signal.throwIfAborted();
      const rotationsMs = Math.round(performance.now() - rotationsStart);
      const wallMs = Math.round(performance.now() - wallStart);

      const completed = outcomes.filter((outcome) => outcome.outcome === 'Rotation Completed').length;
      const { secretReads, stageLookups, tokenRequests: httpTokenRequests, reports } = credentials.stats;
      const bound = secretReadsBound(outcomes.length);
      const document = {
        workers: WORKERS,
        rotations: completed,
        tokenRequests: calls,
        failed: failures.count,
        secretReads,
        tokenCache: TOKEN_CACHE,
        httpTokenRequests,
        stageLookups,
        reports,
        secretReadsBound: bound,
        failureKinds: failures.kinds(),
        eventErrors: subscribed.eventErrors(),
        rotationMs: outcomes.map((outcome) => outcome.ms),
        rotationsWallMs: rotationsMs,
        wallMs,
      };
      return {
        document,
        rows: [
          ['workers (one shared credentials object)', String(WORKERS)],
          ['token cache', 'renew every call (tokenSkewSeconds 86400); concurrent calls share one request'],
          [
            'rotations completed',
            `${completed} of ${ROTATIONS} (${outcomes.map((o) => o.ms).join(', ')} ms)`,
          ],
          ['token requests (accessToken() calls)', String(calls)],
          ['failed', String(failures.count)],
          [
            'failures',
            Object.entries(failures.kinds())
              .map(([kind, n]) => `${n}× ${kind}`)
              .join(', ') || '-',
          ],
          ['HTTP token requests (the library to Stytch)', String(httpTokenRequests)],
          ['secret reads (GetSecretValue)', `${secretReads} (bound ${bound})`],
          ['stage lookups (DescribeSecret polls)', String(stageLookups)],
          ['health reports sent', String(reports)],
          ['wall time', `${(wallMs / 1000).toFixed(1)} s (rotations ${(rotationsMs / 1000).toFixed(1)} s)`],
        ],
        targets: [
          { name: 'failed = 0', ok: failures.count === 0, detail: `${failures.count} failed` },
          {
            name: `${ROTATIONS} rotations completed`,
            ok: completed === ROTATIONS,
            detail: summarizeOutcomes(outcomes),
          },
          {
            name: `secret reads ≤ ${bound} (2 + 4 per rotation)`,
            ok: secretReads <= bound,
            detail: `${secretReads} reads for ${calls} requests`,
          },
          {
            name: `wall time < ${WALL_TARGET_MS / 1000} s`,
            ok: wallMs < WALL_TARGET_MS,
            detail: `${wallMs} ms`,
          },
        ],
      };
    },
  );
}
