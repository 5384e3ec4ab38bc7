import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import type { FleetStatus } from '#cli/commands/status.js';
import { exec } from '#cli/exec.js';
import type { FleetRunResult } from '#cli/fleetRotation.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';
import { waitFor } from '../support/waitFor.js';

/**
 * Scenario: fleet rotation (`rotator rotate --all | --selector`, `rotator emergency --selector`)
 * against the sandbox, in process with the operator's environment: the selection goes to the
 * fleet bucket in moto, the fleet workflow of the synthesized template runs in the local executor
 * (its Distributed Map as an inline Map), each item one execution of the rotation workflow.
 * Each test builds on the registry and the runs the ones before it left.
 */
describe('CLI: fleet rotation against the sandbox', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let ledger: DynamoLedger;
  const dir = mkdtempSync(join(tmpdir(), 'rotator-fleet-'));
  /** Clients of the file below: no expected consumer, so each rotation completes at once. */
  const NAMES = ['fleet-a', 'fleet-b', 'fleet-c', 'fleet-d', 'fleet-e'];

  const run = async (argv: string[]) => {
    const io = bufferedIo(env);
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };
  const clientIdOf = async (name: string) => (await ledger.findRegistrationByName(name))?.clientId ?? '';
  const currentLastFour = async (clientId: string) =>
    (await sandbox.stytchClient.m2m.get(clientId)).clientSecretLastFour;

  beforeAll(async () => {
    sandbox = await Sandbox.start({ config: sampleSandboxConfig(), say: () => {} });
    env = { ...sandbox.cliEnv() };
    ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
    const file = join(dir, 'fleet.yaml');
    writeFileSync(
      file,
      `clients:\n${NAMES.map((name) => `  - name: ${name}\n    scopes: [read:reports]\n`).join('')}`,
    );
    const applied = await run(['apply', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run lists the clients a selector picks and starts nothing', async () => {
    // Act
    const result = await run(['rotate', '--selector', 'name=fleet-*,kind=m2m', '--dry-run', '--json']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as { selected: number; clientIds: string[]; dryRun: boolean };
    expect(printed).toMatchObject({ dryRun: true, selected: 5 });
    expect(printed.clientIds.sort()).toEqual((await Promise.all(NAMES.map(clientIdOf))).sort());
    expect(sandbox.fleetExecutor.listExecutions()).toEqual([]);
  });

  it('rotates every selected client, at most --max-concurrency at once, each rotation tagged with the run', async () => {
    // Prepare
    const ids = await Promise.all(NAMES.map(clientIdOf));
    const before = await Promise.all(ids.map(currentLastFour));
    const rotationsBefore = sandbox.executor.listExecutions().length;

    // Act
    const result = await run([
      'rotate',
      '--selector',
      'name=fleet-*',
      '--max-concurrency',
      '2',
      '--reason',
      'campaign 7',
      '--wait',
      '--json',
    ]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as FleetRunResult;
    expect(printed).toMatchObject({
      trigger: 'manual',
      status: 'SUCCEEDED',
      progress: {
        selected: 5,
        rotated: 5,
        cancelled: 0,
        failed: 0,
        inFlight: 0,
        waitingForConsumers: 0,
        notStarted: 0,
      },
    });
    expect(printed.fleetRun).toMatch(/^fleet-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    const after = await Promise.all(ids.map(currentLastFour));
    for (const [index, lastFour] of after.entries()) expect(lastFour).not.toBe(before[index]);
    // Each client rotated once, by one execution of the rotation workflow that the run started.
    const started = sandbox.executor
      .listExecutions()
      .slice(0, sandbox.executor.listExecutions().length - rotationsBefore);
    expect(started).toHaveLength(5);
    for (const id of ids) {
      const [latest] = await ledger.listRotations(id, 1);
      expect(latest).toMatchObject({ status: 'completed', fleetRun: printed.fleetRun, reason: 'campaign 7' });
    }
    // Never more than two in flight: no three of them overlap in time.
    const spans = started.map((e) => [e.startDate.getTime(), e.stopDate?.getTime() ?? Infinity] as const);
    const overlapAt = (t: number) => spans.filter(([start, stop]) => start <= t && t < stop).length;
    expect(Math.max(...spans.map(([start]) => overlapAt(start)))).toBeLessThanOrEqual(2);
  });

  it('stops at the first client that was not rotated when no failure is tolerated, and says so (exit 1)', async () => {
    // Prepare: one client gone at Stytch, so its rotation cannot start
    const gone = await clientIdOf('fleet-a');
    await sandbox.stytchClient.m2m.delete(gone);

    // Act
    const result = await run([
      'rotate',
      '--selector',
      'name=fleet-*',
      '--max-concurrency',
      '1',
      '--wait',
      '--json',
    ]);

    // Assess
    expect(result.code).toBe(1);
    const printed = JSON.parse(result.stdout) as FleetRunResult;
    expect(printed).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    // One at a time, in client id order: the clients before the gone one were rotated, and the
    // run stopped at it, starting none after it.
    const ids = (await Promise.all(NAMES.map(clientIdOf))).sort();
    const { rotated, cancelled, failed, notStarted } = printed.progress;
    expect(rotated).toBe(ids.indexOf(gone));
    expect(rotated + cancelled + failed + notStarted).toBe(5);
    expect(notStarted + failed + cancelled).toBe(5 - ids.indexOf(gone));
  });

  it('emergency over a selection tolerates every failure by default: the others are rotated (exit 1 for the one)', async () => {
    // Prepare
    const others = await Promise.all(['fleet-b', 'fleet-c'].map(clientIdOf));
    const before = await Promise.all(others.map(currentLastFour));

    // Act
    const result = await run([
      'emergency',
      '--selector',
      'name=fleet-a,name=fleet-b,name=fleet-c',
      '--reason',
      'CI log exposed them',
      '--wait',
      '--json',
    ]);
    const widened = await run(['emergency', '--selector', 'name=fleet-[abc]', '--reason', 'x']);

    // Assess
    // Terms are ANDed: no client has three names, so nothing matches.
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no managed client matches --selector');
    expect(widened.code).toBe(2);
    expect(widened.stderr).toContain('term 1 "name=fleet-[abc]" is not field=value');
    const leak = await run([
      'emergency',
      '--selector',
      'name!=fleet-d,name!=fleet-e,name=fleet-*',
      '--reason',
      'CI log',
      '--wait',
      '--json',
    ]);
    expect(leak.code).toBe(1);
    const printed = JSON.parse(leak.stdout) as FleetRunResult;
    expect(printed).toMatchObject({
      trigger: 'leak',
      status: 'SUCCEEDED',
      progress: { selected: 3, rotated: 2 },
    });
    const after = await Promise.all(others.map(currentLastFour));
    for (const [index, lastFour] of after.entries()) expect(lastFour).not.toBe(before[index]);
  });

  it('a leak run preempts a rotation in progress: the intake completes it at once, so the leaked secret dies', async () => {
    // Prepare: a manual rotation of a sandbox client, waiting for consumers that never report
    const clientId = 'm2m-client-test-billing-worker';
    const started = await run(['rotate', clientId, '--no-wait', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const { rotationId } = JSON.parse(started.stdout) as { rotationId: string };
    await waitFor(async () =>
      (await ledger.getRotation(clientId, rotationId))?.status === 'pending' ? true : undefined,
    );
    const before = await currentLastFour(clientId);

    // Act
    const leak = await run([
      'emergency',
      '--selector',
      `id=${clientId}`,
      '--reason',
      'CI log',
      '--wait',
      '--json',
    ]);

    // Assess: the run's own rotation was refused, and its leak report completed the one in progress.
    expect(JSON.parse(leak.stdout)).toMatchObject({ trigger: 'leak', status: 'SUCCEEDED' });
    const ended = await waitFor(async () => {
      const record = await ledger.getRotation(clientId, rotationId);
      return record?.status === 'completed' ? record : undefined;
    });
    expect(ended.outcomeReason).toBe('leak_escalated');
    expect(await currentLastFour(clientId)).not.toBe(before);
  });

  it('status --fleet shows the latest runs, newest first, with their progress', async () => {
    // Act
    const json = await run(['status', '--fleet', '--json']);
    const text = await run(['status', '--fleet']);

    // Assess
    expect(json.code, json.stderr).toBe(0);
    const fleet = JSON.parse(json.stdout) as FleetStatus;
    expect(fleet.fleetRuns?.map((r) => [r.status, r.trigger, r.progress.selected])).toEqual([
      ['SUCCEEDED', 'leak', 1],
      ['SUCCEEDED', 'leak', 3],
      ['FAILED', 'manual', 5],
      ['SUCCEEDED', 'manual', 5],
    ]);
    expect(text.stdout).toContain('Fleet runs (newest first):');
    expect(text.stdout).toMatch(/fleet-\S+ {2}FAILED \(manual\) {2}States\.ExceedToleratedFailureThreshold/);
    expect(text.stdout).toContain('5/5 done: 5 rotated, 0 cancelled, 0 failed');
  });

  it('refuses mixed or misplaced flags with one line each, before anything starts (exit 2)', async () => {
    // Act
    const runsBefore = sandbox.fleetExecutor.listExecutions().length;
    const both = await run(['rotate', 'm2m-client-test-payments', '--all']);
    const neither = await run(['rotate']);
    const fleetFlagAlone = await run(['rotate', 'm2m-client-test-payments', '--max-concurrency', '3']);
    const badNumbers = await run([
      'rotate',
      '--all',
      '--max-concurrency',
      '0',
      '--tolerated-failure-percentage',
      '101',
    ]);

    // Assess
    expect(both).toMatchObject({ code: 2, stdout: '' });
    expect(both.stderr).toContain('give a clientId or --all/--selector, not both');
    expect(neither.stderr).toContain('give the <clientId> to rotate, or --all / --selector <expr>');
    expect(fleetFlagAlone.stderr).toContain('--max-concurrency only apply to a fleet run');
    expect(badNumbers.stderr).toContain('--max-concurrency must be a whole number from 1 to 10000');
    expect(badNumbers.stderr).toContain('--tolerated-failure-percentage must be a number from 0 to 100');
    for (const result of [both, neither, fleetFlagAlone, badNumbers]) {
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(sandbox.fleetExecutor.listExecutions()).toHaveLength(runsBefore);
  });

  it('never prints a secret: every output above holds last fours and ids only', async () => {
    // Act
    const outputs = [await run(['status', '--fleet', '--json']), await run(['rotate', '--all', '--dry-run'])];

    // Assess
    for (const { stdout, stderr } of outputs) {
      for (const secret of sandbox.secrets) {
        expect(stdout).not.toContain(secret.reveal());
        expect(stderr).not.toContain(secret.reveal());
      }
    }
  });
});
