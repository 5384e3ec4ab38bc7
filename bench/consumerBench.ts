import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import stytch from 'stytch';
import { createM2MCredentials } from '#consumer/index.js';
import type { Sandbox } from '../sandbox/world/Sandbox.js';
import {
  type BenchContext,
  type BenchResult,
  EventFanOut,
  RequestLoop,
  rotateBackToBack,
  sleep,
  subscribedConsumer,
  summarizeOutcomes,
  withSandbox,
} from './harness.js';
import { NAIVE_CACHE_SECONDS, Naive1hConsumer } from './naive1h.js';

/** The library consumer that takes part in the rotations (the client's only expected consumer). */
const LIBRARY_CONSUMER = 'bench-library';
const ROTATIONS = 10;
/** Each consumer asks for a token this often during the rotations. */
const REQUEST_PERIOD_MS = 20;
/** Traffic kept up after the last rotation, so what the last completion breaks is counted. */
const TAIL_MS = 500;
const RATIO_TARGET = 20;

const LIBRARY_WARMUP = 20_000;
const LIBRARY_ITERATIONS = 100_000;
const LIBRARY_ROUNDS = 5;
const BASELINE_WARMUP = 30;
const BASELINE_ITERATIONS = 300;

interface HitPath {
  readonly libraryNsPerOp: number;
  readonly baselineNsPerOp: number;
  readonly ratio: number;
}

/**
 * `npm run bench -- consumer`: the cost of `accessToken()` when the token is cached, against what a
 * service writes without the library (Powertools getSecret + the Stytch SDK's m2m.token per call),
 * and failed token requests of the library and of a naive consumer through 10 rotations.
 */
export async function consumerBench(context: BenchContext): Promise<BenchResult> {
  const events = new EventFanOut();
  return withSandbox(
    context,
    { expectedConsumers: [LIBRARY_CONSUMER], events },
    async (sandbox, clientId, secretId) => {
      const hitPath = await measureHitPath(sandbox, secretId, context);
      context.say(
        `hit path: library ${hitPath.libraryNsPerOp} ns/op, baseline ${hitPath.baselineNsPerOp} ns/op, ratio ${hitPath.ratio}`,
      );

      const subscribed = await subscribedConsumer(sandbox, secretId, LIBRARY_CONSUMER, events);
      const library = subscribed.credentials;
      const naive = new Naive1hConsumer(sandbox.aws.secretsManager, secretId);
      await library.current();
      await naive.accessToken();

      const loops = {
        library: new RequestLoop(REQUEST_PERIOD_MS, () => library.accessToken()),
        naive1h: new RequestLoop(REQUEST_PERIOD_MS, () => naive.accessToken()),
      };
      context.say(
        `two consumers request a token every ${REQUEST_PERIOD_MS} ms; ${ROTATIONS} rotations follow`,
      );
      let outcomes: Awaited<ReturnType<typeof rotateBackToBack>> = [];
      try {
        outcomes = await rotateBackToBack(sandbox, clientId, ROTATIONS, {
          signal: context.signal,
          say: context.say,
          deadline: Date.now() + 120_000,
        });
        await sleep(TAIL_MS);
      } finally {
        await Promise.all([loops.library.stop(), loops.naive1h.stop()]);
        await subscribed.close();
      }
      context.signal.throwIfAborted();

      const completed = outcomes.filter((outcome) => outcome.outcome === 'Rotation Completed').length;
      const failed = { library: loops.library.failures.count, naive1h: loops.naive1h.failures.count };
      const document = {
        hitPath,
        rotations: completed,
        failedTokenRequests: failed,
        tokenRequests: { library: loops.library.requests, naive1h: loops.naive1h.requests },
        failureKinds: { library: loops.library.failures.kinds(), naive1h: loops.naive1h.failures.kinds() },
        libraryStats: { ...library.stats, eventErrors: subscribed.eventErrors() },
        rotationMs: outcomes.map((outcome) => outcome.ms),
      };
      const kinds = (tally: Record<string, number>): string =>
        Object.entries(tally)
          .map(([kind, n]) => `${n}× ${kind}`)
          .join(', ') || '-';
      return {
        document,
        rows: [
          ['hit path: library accessToken() (token cached)', `${hitPath.libraryNsPerOp} ns/op`],
          ['hit path: Powertools getSecret + Stytch SDK m2m.token', `${hitPath.baselineNsPerOp} ns/op`],
          ['hit path: ratio (baseline / library)', `${hitPath.ratio}× (target ≥ ${RATIO_TARGET})`],
          [
            'rotations completed',
            `${completed} of ${ROTATIONS} (${outcomes.map((o) => o.ms).join(', ')} ms)`,
          ],
          ['library: token requests / failed', `${loops.library.requests} / ${failed.library}`],
          ['library: failures', kinds(document.failureKinds.library)],
          [
            'library: secret reads / stage lookups / HTTP mints / reports',
            `${library.stats.secretReads} / ${library.stats.stageLookups} / ${library.stats.tokenRequests} / ${library.stats.reports}`,
          ],
          [
            `naive1h (secret cached ${NAIVE_CACHE_SECONDS} s): token requests / failed`,
            `${loops.naive1h.requests} / ${failed.naive1h}`,
          ],
          ['naive1h: failures', kinds(document.failureKinds.naive1h)],
        ],
        targets: [
          {
            name: `hit-path ratio ≥ ${RATIO_TARGET}`,
            ok: hitPath.ratio >= RATIO_TARGET,
            detail: `ratio ${hitPath.ratio}`,
          },
          {
            name: `${ROTATIONS} rotations completed`,
            ok: completed === ROTATIONS,
            detail: summarizeOutcomes(outcomes),
          },
          {
            name: 'library: 0 failed token requests',
            ok: failed.library === 0,
            detail: `${failed.library} failed`,
          },
          {
            name: 'naive1h: > 0 failed token requests',
            ok: failed.naive1h > 0,
            detail: `${failed.naive1h} failed`,
          },
        ],
      };
    },
  );
}

async function measureHitPath(sandbox: Sandbox, secretId: string, context: BenchContext): Promise<HitPath> {
  // The library: the token is cached (default skew, 1 h lifetime); no polling, no reports.
  const credentials = createM2MCredentials({
    secretId,
    consumerName: 'bench-hit-path',
    secretsManager: sandbox.aws.secretsManager,
    eventBusName: '',
    pollIntervalMs: 0,
  });
  let libraryNsPerOp: number;
  try {
    await credentials.accessToken();
    const mintsBefore = credentials.stats.tokenRequests;
    for (let i = 0; i < LIBRARY_WARMUP; i += 1) await credentials.accessToken();
    const rounds: number[] = [];
    for (let round = 0; round < LIBRARY_ROUNDS; round += 1) {
      context.signal.throwIfAborted();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < LIBRARY_ITERATIONS; i += 1) await credentials.accessToken();
      rounds.push(Number(process.hrtime.bigint() - t0) / LIBRARY_ITERATIONS);
    }
    if (credentials.stats.tokenRequests !== mintsBefore) {
      throw new Error('the library went to the token endpoint while its token was cached: not the hit path');
    }
    libraryNsPerOp = median(rounds);
  } finally {
    await credentials.close();
  }

  const baseline = baselineConsumer(sandbox, secretId);
  for (let i = 0; i < BASELINE_WARMUP; i += 1) await baseline();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < BASELINE_ITERATIONS; i += 1) {
    if (i % 50 === 0) context.signal.throwIfAborted();
    await baseline();
  }
  const baselineNsPerOp = Number(process.hrtime.bigint() - t0) / BASELINE_ITERATIONS;
  return {
    libraryNsPerOp: Math.round(libraryNsPerOp),
    baselineNsPerOp: Math.round(baselineNsPerOp),
    ratio: Math.round((baselineNsPerOp / libraryNsPerOp) * 10) / 10,
  };
}

/**
 * What a service writes without the library: Powertools `getSecret` (5 s cache, here through a
 * SecretsProvider on the sandbox's client: what getSecret does with its default provider) and the
 * official Stytch SDK's `m2m.token` for every token it needs.
 */
function baselineConsumer(sandbox: Sandbox, secretId: string): () => Promise<string> {
  const provider = new SecretsProvider({ awsSdkV3Client: sandbox.aws.secretsManager });
  // The SDK warns once about a non-standard `env` (the emulator's URL); keep that off the output.
  const warn = console.warn;
  console.warn = () => undefined;
  let client: InstanceType<typeof stytch.Client>;
  try {
    client = new stytch.Client({
      project_id: sandbox.stytch.projectId,
      // m2m.token authenticates with the client's own credentials; the project secret is not used.
      secret: 'not-used-by-m2m-token',
      env: `${sandbox.stytch.url}/`,
    });
  } finally {
    console.warn = warn;
  }
  return async () => {
    const secret = (await provider.get(secretId, { transform: 'json' })) as {
      client_id: string;
      client_secret: string;
    };
    const response = await client.m2m.token({
      client_id: secret.client_id,
      client_secret: secret.client_secret,
    });
    return response.access_token;
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
