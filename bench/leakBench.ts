import { Readable } from 'node:stream';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { exec } from '#cli/exec.js';
import type { CliIo } from '#cli/io.js';
import { deliverGitHubWebhook } from '#sandbox/github-emulator/index.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { type DeploymentConfig, loadDeploymentConfig } from '../lib/config/DeploymentConfig.js';
import { type BenchContext, type BenchResult, sleep } from './harness.js';

const SAMPLE_CONFIG = new URL('../config/rotator.sample.json', import.meta.url).pathname;
/** Rotates at once (no consumer to wait for): the plain leak paths. */
const QUICK = 'm2m-client-test-billing-worker';
/** Waits for a consumer that never reports: a rotation in progress to preempt. */
const WAITING = 'm2m-client-test-reporting';
const SILENT_CONSUMER = 'bench-silent';
/** The follow-up leak rotation of a preempted pending waits for the silent consumer this long, then completes. */
const WAITING_LEAK_DEADLINE_SECONDS = 3;
const ROUNDS = 3;
/** A leaked secret must be dead within minutes; in the sandbox our own overhead should be seconds. */
const TARGET_MS = 10_000;
const POLL_MS = 20;

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
  context.say('starting the sandbox: moto_server, the Stytch emulator, the state machine from cdk synth');
  const sandbox = await Sandbox.start({ config: leakBenchConfig(), say: context.say });
  try {
    const id = (configId: string): string => sandbox.clientIdMap.get(configId) ?? configId;
    const env = sandbox.cliEnv();
    const cli = async (argv: string[], stdin?: string): Promise<void> => {
      const io = quietIo(env, context.signal, stdin);
      const code = await exec(argv, io);
      if (code !== 0) throw new Error(`rotator ${argv.slice(0, 2).join(' ')} exited ${code}`);
    };
    const secretAt = async (clientId: string, stage: 'AWSCURRENT' | 'AWSPENDING'): Promise<string> => {
      const { SecretString } = await sandbox.aws.secretsManager.send(
        new GetSecretValueCommand({
          SecretId: `${sandbox.config.secretPrefix}/${clientId}`,
          VersionStage: stage,
        }),
      );
      return (JSON.parse(SecretString ?? '{}') as { client_secret: string }).client_secret;
    };
    const untilDead = async (clientId: string, secret: string, t0: number): Promise<number> => {
      for (;;) {
        context.signal.throwIfAborted();
        const alive = await sandbox.stytchClient.token({ clientId, clientSecret: secret }).then(
          () => true,
          () => false,
        );
        if (!alive) return Math.round(performance.now() - t0);
        if (performance.now() - t0 > 120_000)
          throw new Error(`the leaked secret of ${clientId} lived past 120 s`);
        await sleep(POLL_MS);
      }
    };
    /** Until no execution runs (the rotation and any follow-up leak rotation have ended). */
    const idle = async (clientId: string): Promise<void> => {
      for (const started = performance.now(); performance.now() - started < 120_000; ) {
        await sandbox.settle();
        if (!sandbox.executor.listExecutions().some((execution) => execution.status === 'RUNNING')) return;
        await sleep(50);
      }
      throw new Error(`the rotations of ${clientId} did not end`);
    };
    /** Starts a manual rotation and returns once its pending secret is stored (it then waits for its consumer). */
    const waitingRotation = async (clientId: string): Promise<void> => {
      await cli(['rotate', clientId, '--reason', 'bench: a rotation in progress', '--no-wait']);
      for (const started = performance.now(); performance.now() - started < 30_000; ) {
        const pending = await secretAt(clientId, 'AWSPENDING').then(
          () => true,
          () => false,
        );
        if (pending) return;
        await sleep(POLL_MS);
      }
      throw new Error(`the rotation of ${clientId} stored no pending secret`);
    };

    const paths: PathFigures[] = [];
    const measure = async (path: string, round: () => Promise<number>): Promise<void> => {
      const msToDead: number[] = [];
      for (let i = 1; i <= ROUNDS; i += 1) {
        context.signal.throwIfAborted();
        const ms = await round();
        msToDead.push(ms);
        context.say(`${path} ${i}/${ROUNDS}: dead after ${ms} ms`);
      }
      const sorted = [...msToDead].sort((a, b) => a - b);
      paths.push({
        path,
        msToDead,
        medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
        maxMs: sorted.at(-1) ?? 0,
      });
    };

    await measure('leak report --client-id', async () => {
      const clientId = id(QUICK);
      const leaked = await secretAt(clientId, 'AWSCURRENT');
      const t0 = performance.now();
      await cli(['leak', 'report', '--client-id', clientId]);
      const ms = await untilDead(clientId, leaked, t0);
      await idle(clientId);
      return ms;
    });
    await measure('GitHub alert (webhook)', async () => {
      const clientId = id(QUICK);
      const leaked = await secretAt(clientId, 'AWSCURRENT');
      const alert = sandbox.github.addAlert({ repository: 'acme/bench', secret: leaked });
      const t0 = performance.now();
      const delivered = await deliverGitHubWebhook({
        url: sandbox.githubWebhook.url,
        webhookSecret: sandbox.githubWebhook.secret,
        event: 'secret_scanning_alert',
        payload: alert.payload,
      });
      if (delivered.status !== 200) throw new Error(`the webhook answered ${delivered.status}`);
      const ms = await untilDead(clientId, leaked, t0);
      await idle(clientId);
      return ms;
    });
    await measure('preemption: current leaked', async () => {
      const clientId = id(WAITING);
      await waitingRotation(clientId);
      const leaked = await secretAt(clientId, 'AWSCURRENT');
      const t0 = performance.now();
      await cli(['leak', 'report', '--secret-stdin'], leaked);
      const ms = await untilDead(clientId, leaked, t0);
      await idle(clientId);
      return ms;
    });
    await measure('preemption: pending leaked', async () => {
      const clientId = id(WAITING);
      await waitingRotation(clientId);
      const leaked = await secretAt(clientId, 'AWSPENDING');
      const t0 = performance.now();
      await cli(['leak', 'report', '--secret-stdin'], leaked);
      const ms = await untilDead(clientId, leaked, t0);
      // The follow-up leak rotation waits for the silent consumer, then completes (fail-secure).
      await idle(clientId);
      return ms;
    });

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
  } finally {
    context.say('stopping the sandbox');
    await sandbox.stop();
  }
}

/** The sample config: one client that rotates at once, one that waits for a consumer that never reports. */
function leakBenchConfig(): DeploymentConfig {
  const sample = loadDeploymentConfig(SAMPLE_CONFIG);
  const pick = (clientId: string) => {
    const client = sample.clients.find((candidate) => candidate.clientId === clientId);
    if (client === undefined) throw new Error(`the sample config no longer has ${clientId}`);
    return client;
  };
  return {
    ...sample,
    clients: [
      { ...pick(QUICK), policy: { expectedConsumers: [] } },
      {
        ...pick(WAITING),
        policy: {
          expectedConsumers: [SILENT_CONSUMER],
          manual: { deadlineSeconds: 120 },
          leak: { deadlineSeconds: WAITING_LEAK_DEADLINE_SECONDS },
        },
      },
    ],
  };
}

/** A CliIo that keeps the CLI's output to itself (the benchmark prints its own figures). */
function quietIo(env: Record<string, string>, signal: AbortSignal, stdin?: string): CliIo {
  const discard = { write: () => true, isTTY: false };
  return {
    stdout: discard,
    stderr: discard,
    env,
    signal,
    ...(stdin === undefined ? {} : { stdin: Readable.from([stdin]) }),
  };
}
