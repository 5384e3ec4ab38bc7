import { Readable } from 'node:stream';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { exec } from '#cli/exec.js';
import type { CliIo } from '#cli/io.js';
import { deliverGitHubWebhook } from '#sandbox/github-emulator/index.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { type SandboxConfig, sampleSandboxConfig } from '../sandbox/world/sandboxConfig.js';
import { type BenchContext, sleep } from './harness.js';

// What the leak and containment benchmarks share: a sandbox with one client that rotates at once
// and one whose rotations wait for a consumer that never reports, and the four ways a leak is
// reported (each hands the report in and returns; the benchmark measures what follows).

/** Rotates at once (no consumer to wait for): the plain leak paths. */
const QUICK = 'm2m-client-test-billing-worker';
/** Waits for a consumer that never reports: a rotation in progress to preempt. */
const WAITING = 'm2m-client-test-reporting';
const SILENT_CONSUMER = 'bench-silent';
/** The follow-up leak rotation of a preempted pending waits for the silent consumer this long, then completes. */
const WAITING_LEAK_DEADLINE_SECONDS = 3;
export const POLL_MS = 20;

/** The sandbox of the leak benchmarks and what a round needs of it. */
export interface LeakWorld {
  readonly sandbox: Sandbox;
  /** The leaked secret of `clientId` at `stage`. */
  secretAt(clientId: string, stage: 'AWSCURRENT' | 'AWSPENDING'): Promise<string>;
  /** Until no execution runs (the rotation and any follow-up leak rotation have ended). */
  idle(clientId: string): Promise<void>;
}

/** One way a leak is reported, for one round. */
export interface LeakPath {
  readonly path: string;
  /**
   * Sets the round up (a rotation in progress, for preemption) and returns the client and the
   * stage whose secret leaks.
   */
  prepare(world: LeakWorld): Promise<{ clientId: string; stage: 'AWSCURRENT' | 'AWSPENDING' }>;
  /** Hands the report in; resolves once it is handed in (not when it is acted on). */
  report(world: LeakWorld, clientId: string, leaked: string): Promise<void>;
}

/** Starts the sandbox of the leak benchmarks; `round` runs with it, then it is stopped. */
export async function withLeakWorld<T>(
  context: BenchContext,
  use: (world: LeakWorld, paths: readonly LeakPath[]) => Promise<T>,
): Promise<T> {
  context.say('starting the sandbox: moto_server, the Stytch emulator, the state machine from cdk synth');
  const sandbox = await Sandbox.start({ config: leakBenchConfig(), say: context.say });
  try {
    const id = (configId: string): string => sandbox.clientIdMap.get(configId) ?? configId;
    const env = sandbox.cliEnv();
    const cli = async (argv: string[], stdin?: string): Promise<void> => {
      const code = await exec(argv, quietIo(env, context.signal, stdin));
      if (code !== 0) throw new Error(`rotator ${argv.slice(0, 2).join(' ')} exited ${code}`);
    };
    const world: LeakWorld = {
      sandbox,
      secretAt: async (clientId, stage) => {
        const { SecretString } = await sandbox.aws.secretsManager.send(
          new GetSecretValueCommand({
            SecretId: `${sandbox.config.secretPrefix}/${clientId}`,
            VersionStage: stage,
          }),
        );
        return (JSON.parse(SecretString ?? '{}') as { client_secret: string }).client_secret;
      },
      idle: async (clientId) => {
        for (const started = performance.now(); performance.now() - started < 120_000; ) {
          await sandbox.settle();
          if (!sandbox.executor.listExecutions().some((execution) => execution.status === 'RUNNING')) return;
          await sleep(50);
        }
        throw new Error(`the rotations of ${clientId} did not end`);
      },
    };
    /** Starts a manual rotation and returns once its pending secret is stored (it then waits for its consumer). */
    const waitingRotation = async (clientId: string): Promise<void> => {
      await cli(['rotate', clientId, '--reason', 'bench: a rotation in progress', '--no-wait']);
      for (const started = performance.now(); performance.now() - started < 30_000; ) {
        const pending = await world.secretAt(clientId, 'AWSPENDING').then(
          () => true,
          () => false,
        );
        if (pending) return;
        await sleep(POLL_MS);
      }
      throw new Error(`the rotation of ${clientId} stored no pending secret`);
    };
    const reportBySecret = (_world: LeakWorld, _clientId: string, leaked: string) =>
      cli(['leak', 'report', '--secret-stdin'], leaked);
    const paths: LeakPath[] = [
      {
        path: 'leak report --client-id',
        prepare: async () => ({ clientId: id(QUICK), stage: 'AWSCURRENT' }),
        report: (_world, clientId) => cli(['leak', 'report', '--client-id', clientId]),
      },
      {
        path: 'GitHub alert (webhook)',
        prepare: async () => ({ clientId: id(QUICK), stage: 'AWSCURRENT' }),
        report: async (_world, _clientId, leaked) => {
          const alert = sandbox.github.addAlert({ repository: 'acme/bench', secret: leaked });
          const delivered = await deliverGitHubWebhook({
            url: sandbox.githubWebhook.url,
            webhookSecret: sandbox.githubWebhook.secret,
            event: 'secret_scanning_alert',
            payload: alert.payload,
          });
          if (delivered.status !== 200) throw new Error(`the webhook answered ${delivered.status}`);
        },
      },
      {
        path: 'preemption: current leaked',
        prepare: async () => {
          await waitingRotation(id(WAITING));
          return { clientId: id(WAITING), stage: 'AWSCURRENT' };
        },
        report: reportBySecret,
      },
      {
        path: 'preemption: pending leaked',
        prepare: async () => {
          await waitingRotation(id(WAITING));
          return { clientId: id(WAITING), stage: 'AWSPENDING' };
        },
        report: reportBySecret,
      },
    ];
    return await use(world, paths);
  } finally {
    context.say('stopping the sandbox');
    await sandbox.stop();
  }
}

/** Median and max of a round's figures. */
export function medianAndMax(values: readonly number[]): { medianMs: number; maxMs: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0, maxMs: sorted.at(-1) ?? 0 };
}

/** The sample config: one client that rotates at once, one that waits for a consumer that never reports. */
function leakBenchConfig(): SandboxConfig {
  const sample = sampleSandboxConfig();
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
