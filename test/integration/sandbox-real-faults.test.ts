import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import stytch, { StytchError } from 'stytch';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exec } from '#cli/exec.js';
import { consumerSource } from '#core/events.js';
import { awsClientConfig, Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';
import { type MotoServer, startMoto } from '../support/moto.js';

/**
 * Issue 12's "done when", proven from outside against a running sandbox: moto_server and the Stytch
 * emulator run as processes of their own (`moto_server`, `rotator emulator`), the sandbox uses them
 * as `npm start -- --keep --aws-endpoint … --stytch-url …` does, and everything this file does to
 * the system goes through the `rotator` CLI (the operator's commands with the operator's key, each
 * `consumer check --report` with its consumer's own key), AWS SDK v3 clients pointed at the sandbox
 * gateway, the emulator's admin HTTP API, and the official `stytch` SDK. A background prober mints
 * a token with every client's AWSCURRENT all along: AWSCURRENT must authenticate at every moment.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PREFIX = 'stytch/m2m';
/**
 * How long a wait for the leaked secret to die goes on before the test gives up: the issue's
 * 2 minutes. A hang guard, not a measurement (the figures come from `npm run bench -- leak`).
 */
const LEAK_BUDGET_MS = 2 * 60_000;

/** `rotator emulator --json`'s one line: where the separately started emulator listens. */
interface EmulatorProcess {
  readonly url: string;
  readonly projectId: string;
  readonly projectSecret: string;
  readonly child: ChildProcess;
}

/** One request in the emulator's log (the admin API's `GET /__emulator/requests`). */
interface LoggedRequest {
  readonly seq: number;
  readonly route: string | null;
  readonly status: number;
  readonly clientId?: string;
}

/** One client in `rotator status --json`. */
interface StatusView {
  readonly state: string;
  readonly step?: string;
  readonly rotationId?: string;
  readonly current: { readonly versionId: string | null; readonly secret: string };
  readonly pending: { readonly versionId: string; readonly secret: string } | null;
}

/** One rotation in `rotator history --json`. */
interface HistoryView {
  readonly rotationId: string;
  readonly executionArn: string;
  readonly trigger: string;
  readonly status: string;
  readonly outcomeReason?: string;
}

/** A mint that failed with the secret that was AWSCURRENT before and after it (not a race). */
interface ProbeFailure {
  readonly clientId: string;
  readonly at: string;
  readonly what: string;
}

/** Starts `rotator emulator --json` as its own process and reads where it listens. */
async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, ['bin/rotator.mjs', 'emulator', '--json'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const line = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0] ?? '');
    });
    child.once('exit', (code) => reject(new Error(`rotator emulator exited ${code}: ${stderr}`)));
  });
  const listening = JSON.parse(line) as Omit<EmulatorProcess, 'child'>;
  return { ...listening, child };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Real faults against a sandbox started on a separate moto and Stytch emulator (issue 12, done when)', () => {
  let moto: MotoServer;
  let emulator: EmulatorProcess;
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let secretsManager: SecretsManagerClient;
  let sfn: SFNClient;
  let api: InstanceType<typeof stytch.Client>;
  let savedEndpoint: string | undefined;
  const probe = {
    stopped: false,
    mints: 0,
    races: 0,
    failures: [] as ProbeFailure[],
    loops: [] as Promise<void>[],
  };
  const id = (configId: string): string => sandbox.clientIdMap.get(configId) ?? configId;
  const consumersOf = (clientId: string): readonly string[] =>
    sandbox.config.clients.find((client) => client.clientId === clientId)?.policy?.expectedConsumers ?? [];

  const run = async (argv: string[]) => {
    const io = bufferedIo(env);
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  const admin = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${emulator.url}/__emulator${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${emulator.projectId}:${emulator.projectSecret}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`admin ${method} ${path}: HTTP ${response.status}`);
    return answer;
  };

  /** The emulator's log of Stytch requests about `clientId` on `route`, after `afterSeq`. */
  const requestsOf = async (clientId: string, route: string, afterSeq: number): Promise<LoggedRequest[]> =>
    ((await admin('GET', '/requests')).requests as LoggedRequest[]).filter(
      (request) => request.seq > afterSeq && request.clientId === clientId && request.route === route,
    );
  const lastSeq = async (): Promise<number> =>
    ((await admin('GET', '/requests')).requests as LoggedRequest[]).at(-1)?.seq ?? 0;

  const secretAt = async (clientId: string, stage: 'AWSCURRENT' | 'AWSPENDING'): Promise<string> => {
    const { SecretString } = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: `${PREFIX}/${clientId}`, VersionStage: stage }),
    );
    return (JSON.parse(SecretString ?? '{}') as { client_secret: string }).client_secret;
  };

  /** Whether the token endpoint mints with this secret (false only for a refusal, never an outage). */
  const mints = async (clientId: string, clientSecret: string): Promise<boolean> => {
    try {
      await api.m2m.token({ client_id: clientId, client_secret: clientSecret });
      return true;
    } catch (error) {
      if (error instanceof StytchError && error.status_code >= 400 && error.status_code < 500) return false;
      throw error;
    }
  };

  /** Stytch's view and Secrets Manager's view of the client, side by side (last four characters). */
  const views = async (clientId: string) => {
    const { m2m_client: client } = await api.m2m.clients.get({ client_id: clientId });
    const { Versions = [] } = await secretsManager.send(
      new ListSecretVersionIdsCommand({ SecretId: `${PREFIX}/${clientId}` }),
    );
    return {
      stytchCurrent: client.client_secret_last_four,
      stytchNext: client.next_client_secret_last_four ?? null,
      awsCurrent: (await secretAt(clientId, 'AWSCURRENT')).slice(-4),
      awsPending: Versions.some((version) => version.VersionStages?.includes('AWSPENDING')),
    };
  };

  /** Stytch and Secrets Manager agree: one secret, AWSCURRENT's, nothing pending, and it mints. */
  const expectAgreement = async (clientId: string): Promise<void> => {
    const seen = await views(clientId);
    expect(seen).toEqual({
      stytchCurrent: seen.awsCurrent,
      stytchNext: null,
      awsCurrent: seen.awsCurrent,
      awsPending: false,
    });
    expect(await mints(clientId, await secretAt(clientId, 'AWSCURRENT'))).toBe(true);
  };

  const until = async <T>(
    what: string,
    check: () => Promise<T | undefined>,
    timeoutMs = 45_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      // A wait a failed test left behind ends with the file.
      if (Date.now() > deadline || probe.stopped) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };

  const statusOf = async (clientId: string): Promise<StatusView> => {
    const result = await run(['status', clientId, '--json']);
    expect(result.code).toBe(0);
    const [client] = (JSON.parse(result.stdout) as { clients: StatusView[] }).clients;
    if (client === undefined) throw new Error(`status shows no ${clientId}`);
    return client;
  };

  const historyOf = async (clientId: string): Promise<HistoryView[]> => {
    const result = await run(['history', clientId, '--json']);
    expect(result.code).toBe(0);
    return (JSON.parse(result.stdout) as { rotations: HistoryView[] }).rotations;
  };

  /** Waits (through `rotator status`) for a rotation other than `not` to wait for its consumers. */
  const awaitingConsumers = (clientId: string, not?: string): Promise<StatusView> =>
    until(`a rotation of ${clientId} to await its consumers`, async () => {
      const seen = await statusOf(clientId);
      return seen.step === 'awaiting consumers' && seen.rotationId !== not ? seen : undefined;
    });

  /**
   * `rotator consumer check` as consumer `name` runs it: with its own access key (what its tagged
   * role is in AWS), the only key the bus accepts its reports from. The command builds its SDK
   * clients from the process environment, as a shell would, so the key goes there for the call.
   */
  const checkAs = async (name: string, argv: readonly string[]) => {
    const key = await sandbox.consumerCredentials(name);
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = key.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = key.secretAccessKey;
    try {
      const io = bufferedIo(env);
      const code = await exec(['consumer', 'check', ...argv], io);
      return { code, stdout: io.stdout.text, stderr: io.stderr.text };
    } finally {
      for (const [variable, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[variable];
        else process.env[variable] = value;
      }
    }
  };

  /** Every expected consumer reports the pending secret healthy, each as itself: consumer check. */
  const consumersReport = async (clientId: string): Promise<void> => {
    for (const consumer of consumersOf(clientId)) {
      const result = await checkAs(consumer, [
        '--secret-id',
        `${PREFIX}/${clientId}`,
        '--consumer',
        consumer,
        '--report',
        '--json',
      ]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toMatchObject({
        ok: true,
        report: { sent: true, healthy: true, source: consumerSource(consumer) },
      });
    }
  };

  const rotationEnd = (clientId: string, rotationId: string): Promise<HistoryView> =>
    until(`rotation ${rotationId} of ${clientId} to end`, async () =>
      (await historyOf(clientId)).find(
        (rotation) => rotation.rotationId === rotationId && !['started', 'pending'].includes(rotation.status),
      ),
    );

  /** How the execution ended (DescribeExecution), once it has. */
  const executionEnd = (executionArn: string): Promise<string> =>
    until(`execution ${executionArn} to end`, async () => {
      const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return status === 'RUNNING' ? undefined : status;
    });

  /** `rotate --no-wait` and the wait for its consumers: the execution and its rotation id. */
  const rotationAwaitingConsumers = async (
    clientId: string,
  ): Promise<{ executionArn: string; rotationId: string }> => {
    const started = await run(['rotate', clientId, '--reason', 'issue 12 done-when', '--no-wait', '--json']);
    expect(started).toMatchObject({ code: 0, stderr: '' });
    const rotation = JSON.parse(started.stdout) as { executionArn: string; rotationId: string };
    const waiting = await awaitingConsumers(clientId);
    expect(waiting.rotationId).toBe(rotation.rotationId);
    return rotation;
  };

  /** `rotate --wait --json` with every consumer reporting healthy: how the rotation ended. */
  const rotateWithConsumers = async (clientId: string, before?: string) => {
    const io = bufferedIo(env);
    const exitCode = exec(['rotate', clientId, '--reason', 'the one after', '--wait', '--json'], io);
    await awaitingConsumers(clientId, before);
    await consumersReport(clientId);
    return { code: await exitCode, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  /**
   * Polls the token endpoint with the leaked secret until it is refused: when that was. Started
   * before the test awaits it, so a test that fails first does not leave it rejecting unheard.
   */
  const refusedAt = (clientId: string, leaked: string): Promise<number> => {
    const refused = until(
      'the leaked secret to be refused',
      async () => ((await mints(clientId, leaked)) ? undefined : Date.now()),
      LEAK_BUDGET_MS,
    );
    refused.catch(() => undefined);
    return refused;
  };

  /**
   * Mints with the client's AWSCURRENT every ~25 ms until stopped. A refusal counts only when
   * AWSCURRENT is the same secret after it: otherwise a promotion raced the mint.
   */
  const probeLoop = async (clientId: string): Promise<void> => {
    while (!probe.stopped) {
      try {
        const before = await secretAt(clientId, 'AWSCURRENT');
        if (await mints(clientId, before)) probe.mints += 1;
        else if ((await secretAt(clientId, 'AWSCURRENT')) !== before) probe.races += 1;
        else
          probe.failures.push({
            clientId,
            at: new Date().toISOString(),
            what: `…${before.slice(-4)} refused`,
          });
      } catch (error) {
        probe.failures.push({
          clientId,
          at: new Date().toISOString(),
          what: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
      await sleep(25);
    }
  };

  beforeAll(async () => {
    // The official SDK warns about a non-Stytch `env` once per client.
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    [moto, emulator] = await Promise.all([startMoto(), startEmulatorProcess()]);
    sandbox = await Sandbox.start({
      config: sampleSandboxConfig(),
      awsEndpoint: moto.endpoint,
      stytch: { url: emulator.url, projectId: emulator.projectId, projectSecret: emulator.projectSecret },
      say: () => {},
    });
    env = { ...sandbox.cliEnv(), USER: 'operator' };
    // `rotator consumer check` builds its SDK clients from the process environment, as a shell would.
    savedEndpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = sandbox.awsEndpoint;
    secretsManager = new SecretsManagerClient(awsClientConfig(sandbox.awsEndpoint));
    sfn = new SFNClient(awsClientConfig(sandbox.awsEndpoint));
    api = new stytch.Client({
      project_id: emulator.projectId,
      secret: emulator.projectSecret,
      env: `${emulator.url}/`,
    });
    for (const client of sandbox.config.clients) {
      if (client.kind === 'm2m') probe.loops.push(probeLoop(client.clientId));
    }
  }, 90_000);

  afterAll(async () => {
    probe.stopped = true;
    await Promise.all(probe.loops);
    secretsManager?.destroy();
    sfn?.destroy();
    await sandbox?.stop();
    emulator?.child.kill('SIGTERM');
    await moto?.stop();
    if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = savedEndpoint;
    vi.restoreAllMocks();
  });

  it('case 1: Stytch answers 503 to secrets/rotate past every transient retry after AWSCURRENT moved: the rotation completes forward, never cancels, and the next one works', async () => {
    // Prepare
    const clientId = id('m2m-client-test-billing-worker');
    const { executionArn, rotationId } = await rotationAwaitingConsumers(clientId);
    const since = await lastSeq();
    // More than a transient fault gets: 6 attempts in the state machine, 3 requests in each.
    await admin('POST', '/faults/fail-next', { route: 'm2m.secrets.rotate', status: 503, count: 30 });

    // Act
    await consumersReport(clientId);
    const ended = await rotationEnd(clientId, rotationId);

    // Assess
    expect(ended).toMatchObject({ status: 'completed', outcomeReason: 'all_consumers_healthy' });
    expect(await executionEnd(executionArn)).toBe('SUCCEEDED');
    const rotates = await requestsOf(clientId, 'm2m.secrets.rotate', since);
    expect(rotates.filter((request) => request.status === 503)).toHaveLength(30);
    expect(rotates.at(-1)?.status).toBe(200);
    expect(await requestsOf(clientId, 'm2m.secrets.rotateCancel', since)).toEqual([]);
    await expectAgreement(clientId);
    const next = await rotateWithConsumers(clientId, rotationId);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ outcome: 'completed' });
    await expectAgreement(clientId);
    expect(probe.failures).toEqual([]);
  }, 60_000);

  /** The rotation case 1's refusal left failed, for the rotation after it. */
  let failedForward:
    | { readonly clientId: string; readonly rotationId: string; readonly since: number }
    | undefined;

  it('case 1: a 4xx on secrets/rotate outlasting every retry fails the execution forward: AWSCURRENT stays the secret Stytch has pending, nothing is cancelled', async () => {
    // Prepare
    const clientId = id('m2m-client-test-reporting');
    const { executionArn, rotationId } = await rotationAwaitingConsumers(clientId);
    const since = await lastSeq();
    await admin('POST', '/faults/fail-next', { route: 'm2m.secrets.rotate', status: 400, count: 10_000 });

    // Act
    await consumersReport(clientId);
    const ended = await rotationEnd(clientId, rotationId);
    const executionEnded = await executionEnd(executionArn);
    await sandbox.settle();
    failedForward = { clientId, rotationId, since };

    // Assess
    expect(ended.status).toBe('failed');
    expect(executionEnded).toBe('FAILED');
    // Retried as a completion (each attempt refused), never turned into a cancel.
    expect((await requestsOf(clientId, 'm2m.secrets.rotate', since)).length).toBeGreaterThan(6);
    expect(await requestsOf(clientId, 'm2m.secrets.rotateCancel', since)).toEqual([]);
    const stuck = await views(clientId);
    expect(stuck).toMatchObject({ stytchNext: stuck.awsCurrent, awsPending: false });
    expect(await mints(clientId, await secretAt(clientId, 'AWSCURRENT'))).toBe(true);
    expect(probe.failures).toEqual([]);
  }, 60_000);

  it('case 1: once Stytch answers again, the next rotation of that client completes and Stytch and Secrets Manager agree', async () => {
    // Prepare
    if (failedForward === undefined) throw new Error('needs the failed rotation of the test before');
    const { clientId, rotationId, since } = failedForward;
    await admin('DELETE', '/faults');

    // Act
    const next = await rotateWithConsumers(clientId, rotationId);

    // Assess
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ outcome: 'completed' });
    expect(await requestsOf(clientId, 'm2m.secrets.rotateCancel', since)).toEqual([]);
    await expectAgreement(clientId);
    expect(probe.failures).toEqual([]);
  }, 60_000);

  it('case 2: StopExecution, then at once a leak report for that client: the leaked secret dies', async () => {
    // Prepare
    const clientId = id('m2m-client-test-payments');
    const { executionArn, rotationId } = await rotationAwaitingConsumers(clientId);
    const leaked = await secretAt(clientId, 'AWSCURRENT');
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Operator.Stopped', cause: 'console' }));

    // Act
    const reportedAt = Date.now();
    const report = await run([
      'leak',
      'report',
      '--client-id',
      clientId,
      '--reference',
      'ticket 12',
      '--json',
    ]);
    const dead = refusedAt(clientId, leaked);
    const leakRotation = await awaitingConsumers(clientId, rotationId);
    await consumersReport(clientId);
    const deadAt = await dead;

    // Assess
    expect(report).toMatchObject({ code: 0, stderr: '' });
    expect(await executionEnd(executionArn)).toBe('ABORTED');
    // How long it took is a benchmark figure (npm run bench -- leak), not an assertion here: the
    // wait above gives up at the issue's budget only so a regression cannot hang the suite.
    expect(deadAt).toBeGreaterThanOrEqual(reportedAt);
    // The old secret dies at Stytch before CompleteRotation writes the record: wait for the record
    // (a settle alone is not enough when the machine is busy: the step may still be running).
    const history = await until('the leak rotation recorded as ended', async () => {
      await sandbox.settle();
      const rotations = await historyOf(clientId);
      const ended = rotations.find((rotation) => rotation.rotationId === leakRotation.rotationId);
      return ended !== undefined && ended.status !== 'pending' && ended.status !== 'started'
        ? rotations
        : undefined;
    });
    expect(history.find((rotation) => rotation.rotationId === leakRotation.rotationId)).toMatchObject({
      trigger: 'leak',
      status: 'completed',
    });
    expect(history.find((rotation) => rotation.rotationId === rotationId)?.status).toBe('failed');
    const after = await statusOf(clientId);
    expect(after.rotationId === rotationId && after.step === 'awaiting consumers').toBe(false);
    await expectAgreement(clientId);
    expect(probe.failures).toEqual([]);
  }, 90_000);

  it('case 2: StopExecution, then rotator emergency --wait: it completes and the leaked secret dies', async () => {
    // Prepare
    const clientId = id('m2m-client-test-billing-worker');
    const { executionArn, rotationId } = await rotationAwaitingConsumers(clientId);
    const leaked = await secretAt(clientId, 'AWSCURRENT');
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Operator.Stopped', cause: 'console' }));
    await sandbox.settle();
    const afterStop = await statusOf(clientId);

    // Act
    const reportedAt = Date.now();
    const io = bufferedIo(env);
    const exitCode = exec(['emergency', clientId, '--reason', 'leaked in a log', '--wait', '--json'], io);
    const dead = refusedAt(clientId, leaked);
    await awaitingConsumers(clientId, rotationId);
    await consumersReport(clientId);
    const deadAt = await dead;

    // Assess
    expect(afterStop.rotationId === rotationId && afterStop.step === 'awaiting consumers').toBe(false);
    expect(await exitCode).toBe(0);
    expect(JSON.parse(io.stdout.text)).toMatchObject({ trigger: 'leak', outcome: 'completed' });
    // How long it took is a benchmark figure (npm run bench -- leak), not an assertion here: the
    // wait above gives up at the issue's budget only so a regression cannot hang the suite.
    expect(deadAt).toBeGreaterThanOrEqual(reportedAt);
    await expectAgreement(clientId);
    expect(probe.failures).toEqual([]);
    expect(probe.mints).toBeGreaterThan(0);
  }, 90_000);

  it('case 2: StopExecution while Stytch cannot answer the execution reconciler, then rotator emergency --wait: its leak rotation completes and the leaked secret is dead', async () => {
    // Prepare: the reconciler reads Stytch's state first; with that route down it gives up and the
    // stopped execution's lock stays (as it would after a Stytch outage at the wrong moment).
    const clientId = id('m2m-client-test-search-indexer');
    const { executionArn, rotationId } = await rotationAwaitingConsumers(clientId);
    const leaked = await secretAt(clientId, 'AWSCURRENT');
    await admin('PUT', '/faults/routes/m2m.clients.get', { errorRate: 1, status: 503 });
    await sfn.send(new StopExecutionCommand({ executionArn, error: 'Operator.Stopped', cause: 'console' }));
    await sandbox.settle();
    await admin('DELETE', '/faults');
    const afterStop = await statusOf(clientId);

    // Act
    const reportedAt = Date.now();
    const io = bufferedIo(env);
    const exitCode = exec(['emergency', clientId, '--reason', 'leaked in a log', '--wait', '--json'], io);
    const dead = refusedAt(clientId, leaked);
    await awaitingConsumers(clientId, rotationId);
    await consumersReport(clientId);
    const deadAt = await dead;

    // Assess: the leak is answered whichever way; the operator is told how it ended, not "aborted".
    expect(afterStop).toMatchObject({ state: 'stuck', rotationId });
    expect(afterStop.step).not.toBe('awaiting consumers');
    // How long it took is a benchmark figure (npm run bench -- leak), not an assertion here: the
    // wait above gives up at the issue's budget only so a regression cannot hang the suite.
    expect(deadAt).toBeGreaterThanOrEqual(reportedAt);
    expect(await exitCode).toBe(0);
    expect(JSON.parse(io.stdout.text)).toMatchObject({ trigger: 'leak', outcome: 'completed' });
    await expectAgreement(clientId);
    expect(probe.failures).toEqual([]);
  }, 90_000);
});
