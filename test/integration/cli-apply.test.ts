import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { exec } from '#cli/exec.js';
import { registeredClients } from '#core/clientDirectory.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';

interface ApplyJson {
  dryRun: boolean;
  counts: Record<string, number>;
  actions: {
    action: string;
    name: string;
    clientId: string | null;
    line: number | null;
    result: string;
    changes?: string[];
    error?: string;
  }[];
  failed: number;
}

/**
 * Scenario: `rotator apply -f` against the sandbox (moto behind the gateway, the Stytch emulator),
 * in-process with the sandbox's operator environment, as an operator runs it. Each test builds on
 * the registry the ones before it left, as a fleet's files do over time.
 */
describe('CLI: rotator apply against the sandbox', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let ledger: DynamoLedger;
  let scheduler: SchedulerClient;
  const dir = mkdtempSync(join(tmpdir(), 'rotator-apply-'));

  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const run = async (argv: string[]) => {
    const io = bufferedIo(env);
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };
  /** The actions of a `--json` document that do something (the sandbox's own clients are kept). */
  const changed = (json: ApplyJson | undefined) => json?.actions.filter((action) => action.action !== 'keep');
  const applyJson = async (argv: string[]) => {
    const result = await run([...argv, '--json']);
    return { ...result, json: result.stdout === '' ? undefined : (JSON.parse(result.stdout) as ApplyJson) };
  };
  /** The schedule's definition (not the response's metadata), or the error's name. */
  const scheduleOf = async (clientId: string) =>
    scheduler
      .send(
        new GetScheduleCommand({ Name: `rotate-${clientId}`, GroupName: sandbox.registeredSchedulesGroup }),
      )
      .then(({ $metadata: _metadata, ...definition }) => definition)
      .catch((error: Error) => error.name);
  const versionsOf = async (clientId: string) =>
    (
      await sandbox.aws.secretsManager.send(
        new ListSecretVersionIdsCommand({ SecretId: `${sandbox.config.secretPrefix}/${clientId}` }),
      )
    ).Versions?.map(
      (version) => `${version.VersionId}:${[...(version.VersionStages ?? [])].sort().join(',')}`,
    ).sort();
  const byName = async (name: string) => ledger.findRegistrationByName(name);

  const FLEET = `# the fleet
clients:
  - name: billing-export
    scopes: [read:invoices]
    schedule:
      expression: rate(30 days)
      timeZone: Europe/Berlin
      flexibleWindowMinutes: 60
    policy:
      expectedConsumers: [billing-api]
      leak: { deadlineSeconds: 120 }
  - name: search-indexer
    scopes: [read:catalog, write:index]
  - name: nightly-report
    scopes: [read:reports]
    schedule: { expression: "cron(0 3 * * ? *)" }
`;

  /** The file after the change test: what the later tests build on. */
  const CHANGED = FLEET.replace('scopes: [read:invoices]', 'scopes: [read:invoices, write:invoices]')
    .replace('timeZone: Europe/Berlin', 'timeZone: America/New_York')
    .replace('expectedConsumers: [billing-api]', 'expectedConsumers: [billing-api, ledger-sync]');

  beforeAll(async () => {
    sandbox = await Sandbox.start({
      config: sampleSandboxConfig(),
      say: () => {},
    });
    env = { ...sandbox.cliEnv() };
    ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
    scheduler = new SchedulerClient({
      endpoint: sandbox.awsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    });
  });
  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run prints the plan with each entry and its line, and changes nothing', async () => {
    // Act
    const result = await run(['apply', '-f', file('fleet.yaml', FLEET), '--dry-run']);

    // Assess
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain(
      `Plan: 3 to create, 0 to adopt, 0 to change, 0 to remove, 0 unchanged, ${sandbox.config.clients.length} not in the file (kept)`,
    );
    expect(result.stdout).toContain(`+ billing-export: create (${join(dir, 'fleet.yaml')}:3)`);
    expect(result.stdout).toContain(`+ nightly-report: create (${join(dir, 'fleet.yaml')}:14)`);
    expect(result.stdout).toContain('Dry run: nothing was changed.');
    expect((await ledger.listRegistrations()).map((r) => r.name).sort()).toEqual(
      sandbox.config.clients.map((c) => c.clientId).sort(),
    );
    expect(
      (await sandbox.stytchClient.m2m.search({ limit: 1000 })).clients.map((c) => c.clientName),
    ).not.toContain('billing-export');
  });

  it('creates each client at Stytch, its secret, its fingerprint, its schedule and its registration', async () => {
    // Act
    const result = await applyJson(['apply', '-f', join(dir, 'fleet.yaml')]);

    // Assess
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.json).toMatchObject({ dryRun: false, counts: { create: 3 }, failed: 0 });
    expect(changed(result.json)?.map((a) => [a.action, a.name, a.line, a.result])).toEqual([
      ['create', 'billing-export', 3, 'done'],
      ['create', 'search-indexer', 12, 'done'],
      ['create', 'nightly-report', 14, 'done'],
    ]);
    const billing = await byName('billing-export');
    expect(billing).toMatchObject({
      clientKind: 'm2m',
      scopes: ['read:invoices'],
      expectedConsumers: ['billing-api'],
      policy: { expectedConsumers: ['billing-api'], leak: { deadlineSeconds: 120 } },
      schedule: { expression: 'rate(30 days)', timeZone: 'Europe/Berlin', flexibleWindowMinutes: 60 },
      registrar: 'apply',
    });
    const clientId = billing?.clientId ?? '';
    // The stored secret is the one Stytch issued (it mints a token); no secret reached the output.
    const stored = await new SecretsManagerStore({
      client: sandbox.aws.secretsManager,
      prefix: sandbox.config.secretPrefix,
    }).read({ clientId, kind: 'm2m' }, 'AWSCURRENT');
    await expect(
      sandbox.stytchClient.token({ clientId, clientSecret: stored?.clientSecret.reveal() ?? '' }),
    ).resolves.toMatchObject({ accessToken: expect.anything() });
    expect(result.stdout).not.toContain(stored?.clientSecret.reveal());
    expect((await sandbox.stytchClient.m2m.get(clientId)).scopes).toEqual(['read:invoices']);
    expect(await scheduleOf(clientId)).toMatchObject({
      ScheduleExpression: 'rate(30 days)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 60 },
    });
    expect(await scheduleOf((await byName('search-indexer'))?.clientId ?? '')).toBe(
      'ResourceNotFoundException',
    );
    // The workflow knows the clients from the registry: with its policy, and rotating end to end.
    expect(await registeredClients(ledger).find(clientId)).toEqual({
      kind: 'm2m',
      policy: { expectedConsumers: ['billing-api'], leak: { deadlineSeconds: 120 } },
    });
    const indexer = (await byName('search-indexer'))?.clientId ?? '';
    const rotation = await run(['rotate', indexer, '--wait', '--json']);
    expect(rotation.code).toBe(0);
    expect(JSON.parse(rotation.stdout)).toMatchObject({ clientId: indexer, outcome: 'completed' });
  });

  it('a second apply of the same file changes nothing and calls Stytch not at all', async () => {
    // Prepare
    const before = await Promise.all(
      (await ledger.listRegistrations()).map(
        async (r) => [r.clientId, await versionsOf(r.clientId)] as const,
      ),
    );
    const stytchCalls = sandbox.emulator?.requestLog().length;

    // Act
    const result = await run(['apply', '-f', join(dir, 'fleet.yaml')]);

    // Assess
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Plan: 0 to create, 0 to adopt, 0 to change, 0 to remove, 3 unchanged');
    expect(result.stdout).toContain(
      'Applied: 0 created, 0 adopted, 0 changed, 0 removed, 3 unchanged; 0 failed',
    );
    const after = await Promise.all(before.map(async ([id]) => [id, await versionsOf(id)] as const));
    expect(after).toEqual(before);
    expect(stytchCalls).toBeGreaterThan(0);
    expect(sandbox.emulator?.requestLog().length).toBe(stytchCalls);
  });

  it('changes scopes, schedule and policy where the file changed them, and nothing else', async () => {
    // Prepare
    const search = await byName('search-indexer');

    // Act
    const result = await applyJson(['apply', '-f', file('fleet.yaml', CHANGED)]);

    // Assess
    expect(result.code).toBe(0);
    expect(changed(result.json)).toEqual([
      expect.objectContaining({
        action: 'change',
        name: 'billing-export',
        changes: ['scopes', 'schedule', 'policy'],
        result: 'done',
      }),
    ]);
    const billing = await byName('billing-export');
    expect((await sandbox.stytchClient.m2m.get(billing?.clientId ?? '')).scopes).toEqual([
      'read:invoices',
      'write:invoices',
    ]);
    expect(await scheduleOf(billing?.clientId ?? '')).toMatchObject({
      ScheduleExpressionTimezone: 'America/New_York',
    });
    expect(billing?.expectedConsumers).toEqual(['billing-api', 'ledger-sync']);
    expect(await byName('search-indexer')).toEqual(search);
  });

  it('a file with bad entries changes nothing and names every problem with its line', async () => {
    // Prepare
    const bad = `clients:
  - name: ok-one
    scopes: [read:a]
  - name: bad scope
    scopes: []
  - name: ok-one
    scopes: [read:b]
    colour: blue
`;
    const registryBefore = await ledger.listRegistrations();

    // Act
    const result = await run(['apply', '-f', file('bad.yaml', bad)]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines.some((line) => line.includes('bad.yaml:4') && line.includes('clients[1].name'))).toBe(true);
    expect(lines.some((line) => line.includes('bad.yaml:5') && line.includes('clients[1].scopes'))).toBe(
      true,
    );
    expect(
      lines.some((line) => line.includes('bad.yaml:6') && line.includes('already listed at line 2')),
    ).toBe(true);
    expect(lines.some((line) => line.includes('bad.yaml:8') && line.includes('colour'))).toBe(true);
    expect(lines.at(-1)).toContain('nothing was changed');
    expect(await ledger.listRegistrations()).toEqual(registryBefore);
  });

  it('an apply stopped after creating at Stytch is recovered by the next one (no second client)', async () => {
    // Prepare: what a stop between Stytch's create and the registry write leaves: a client named
    // after the entry, marked as the rotator's, with no secret stored and no registration.
    const orphan = await sandbox.stytchClient.m2m.create({
      clientName: 'late-joiner',
      scopes: ['read:x'],
      trustedMetadata: { managed_by: 'stytch-m2m-rotator' },
    });
    const text = `${CHANGED}  - name: late-joiner\n    scopes: [read:x]\n`;

    // Act
    const result = await applyJson(['apply', '-f', file('fleet.yaml', text)]);

    // Assess
    expect(result.code).toBe(0);
    expect(changed(result.json)).toEqual([
      expect.objectContaining({
        action: 'create',
        name: 'late-joiner',
        clientId: orphan.client.clientId,
        result: 'done',
      }),
    ]);
    const named = (await sandbox.stytchClient.m2m.search({ limit: 1000 })).clients.filter(
      (c) => c.clientName === 'late-joiner',
    );
    expect(named).toHaveLength(1);
    const registered = await byName('late-joiner');
    expect(registered?.clientId).toBe(orphan.client.clientId);
    // The secret it was created with was never kept: it got a new one, which works.
    const stored = await new SecretsManagerStore({
      client: sandbox.aws.secretsManager,
      prefix: sandbox.config.secretPrefix,
    }).read({ clientId: orphan.client.clientId, kind: 'm2m' }, 'AWSCURRENT');
    expect(stored?.clientSecret.reveal()).not.toBe(orphan.clientSecret.reveal());
    await expect(
      sandbox.stytchClient.token({
        clientId: orphan.client.clientId,
        clientSecret: stored?.clientSecret.reveal() ?? '',
      }),
    ).resolves.toMatchObject({ accessToken: expect.anything() });
  });

  it('absorbs Stytch fixed-window limits without Retry-After: a burst of creates all land, none failed', async () => {
    // Prepare: 4 management calls per second, 12 new clients, 8 at once.
    const text = Array.from({ length: 12 }, (_, i) => `  - name: burst-${i}\n    scopes: [read:x]\n`).join(
      '',
    );
    sandbox.emulator?.modes.set({ fixedWindowRateLimit: { management: { requests: 4, windowMs: 1000 } } });

    // Act
    const result = await applyJson([
      'apply',
      '-f',
      file('burst.yaml', `clients:\n${text}`),
      '--concurrency',
      '8',
    ]).finally(() => sandbox.emulator?.modes.set({ fixedWindowRateLimit: null }));

    // Assess
    expect(result.code).toBe(0);
    expect(result.json).toMatchObject({ counts: { create: 12 }, failed: 0 });
    expect(sandbox.emulator?.requestLog().some((entry) => entry.status === 429)).toBe(true);
    for (let i = 0; i < 12; i += 1) {
      const registered = await byName(`burst-${i}`);
      expect(registered).not.toBeNull();
      // Out of the way of the next test's file (an apply --prune would remove them).
      if (registered !== null) await ledger.removeRegistration(registered);
    }
  });

  it('paces a burst under the deployment budget it is given: no 429 at all, every create lands', async () => {
    // Prepare: the same limit as above, now the budget apply shares with the functions
    const text = Array.from({ length: 12 }, (_, i) => `  - name: paced-${i}\n    scopes: [read:x]\n`).join(
      '',
    );
    sandbox.emulator?.modes.set({ fixedWindowRateLimit: { management: { requests: 4, windowMs: 1000 } } });
    sandbox.emulator?.clearRequestLog();

    // Act
    const result = await applyJson([
      'apply',
      '-f',
      file('paced.yaml', `clients:\n${text}`),
      '--concurrency',
      '8',
      '--stytch-requests-per-second',
      '4',
    ]).finally(() => sandbox.emulator?.modes.set({ fixedWindowRateLimit: null }));

    // Assess
    expect(result.code).toBe(0);
    expect(result.json).toMatchObject({ counts: { create: 12 }, failed: 0 });
    const creates =
      sandbox.emulator?.requestLog().filter((entry) => entry.route === 'm2m.clients.create') ?? [];
    expect(creates.map((entry) => entry.status)).toEqual(Array.from({ length: 12 }, () => 200));
    for (let i = 0; i < 12; i += 1) {
      const registered = await byName(`paced-${i}`);
      if (registered !== null) await ledger.removeRegistration(registered);
    }
  });

  it('refuses a schedule window too short for its group, and a budget that is not a number, changing nothing', async () => {
    // Prepare
    const tooShort = `clients:
  - name: hurried
    scopes: [read:a]
    schedule: { expression: rate(30 days), flexibleWindowMinutes: 5 }
`;
    const registryBefore = await ledger.listRegistrations();

    // Act
    const window = await run(['apply', '-f', file('short.yaml', tooShort)]);
    const budget = await run([
      'apply',
      '-f',
      file('short.yaml', tooShort),
      '--stytch-requests-per-second',
      'lots',
    ]);

    // Assess
    expect(window.code).toBe(2);
    expect(window.stderr).toContain(
      'short.yaml:2: clients[0]: schedule.flexibleWindowMinutes: 5 is too short: 1 client starts at rate(30 days) (UTC): at 20 Stytch requests/s it needs a window of at least 15 minutes (or leave it out)',
    );
    expect(window.stderr.trim().split('\n').at(-1)).toBe(
      'rotator: the plan has problems: nothing was changed',
    );
    expect(budget.code).toBe(2);
    expect(budget.stderr).toBe(
      'rotator: --stytch-requests-per-second must be a whole number from 1 to 999999\n',
    );
    expect(await ledger.listRegistrations()).toEqual(registryBefore);
  });

  it('--prune stops managing a client the file dropped and leaves every other client as it was', async () => {
    // Prepare
    const text = `${CHANGED}  - name: late-joiner\n    scopes: [read:x]\n`.replace(
      / {2}- name: nightly-report\n.*\n.*\n/,
      '',
    );
    const dropped = await byName('nightly-report');
    const others = await Promise.all(
      ['billing-export', 'search-indexer', 'late-joiner'].map(async (name) => {
        const registration = await byName(name);
        const id = registration?.clientId ?? '';
        return { registration, versions: await versionsOf(id), schedule: await scheduleOf(id) };
      }),
    );

    // Act & Assess: without --prune the client is only reported.
    const kept = await run(['apply', '-f', file('pruned.yaml', text)]);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain('nightly-report');
    expect(kept.stdout).toContain('not in the file, kept: --prune removes it');
    expect(await byName('nightly-report')).toEqual(dropped);

    // Act: with --prune, it is removed.
    const pruned = await applyJson(['apply', '-f', join(dir, 'pruned.yaml'), '--prune']);

    // Assess
    expect(pruned.code).toBe(0);
    expect(changed(pruned.json)).toEqual([
      expect.objectContaining({ action: 'remove', name: 'nightly-report', result: 'done' }),
    ]);
    expect(await byName('nightly-report')).toBeNull();
    expect(await ledger.getRegistration(dropped?.clientId ?? '')).toBeNull();
    expect(await scheduleOf(dropped?.clientId ?? '')).toBe('ResourceNotFoundException');
    // Its Stytch client stays (removal stops managing; it deletes nothing a service may use).
    await expect(sandbox.stytchClient.m2m.get(dropped?.clientId ?? '')).resolves.toMatchObject({
      clientName: 'nightly-report',
    });
    const after = await Promise.all(
      ['billing-export', 'search-indexer', 'late-joiner'].map(async (name) => {
        const registration = await byName(name);
        const id = registration?.clientId ?? '';
        return { registration, versions: await versionsOf(id), schedule: await scheduleOf(id) };
      }),
    );
    expect(after).toEqual(others);
  });

  it("moves a deployment config's clients into the registry with one command (adopted, secrets kept)", async () => {
    // Prepare: a config listing the sandbox's clients, as a deployed stack's config did, and a
    // registry that does not know them yet (the state before the registry existed).
    const configPath = file('rotator.json', JSON.stringify(sandbox.config, null, 2));
    for (const client of sandbox.config.clients) {
      await ledger.removeRegistration({ name: client.clientId, clientId: client.clientId });
    }
    const before = await Promise.all(sandbox.config.clients.map(async (c) => versionsOf(c.clientId)));

    // Act
    const result = await run(['apply', '-f', configPath]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('a deployment config');
    expect(result.stdout).toContain(`Applied: 0 created, ${sandbox.config.clients.length} adopted`);
    for (const client of sandbox.config.clients) {
      const registration = await ledger.getRegistration(client.clientId);
      expect(registration).toMatchObject({ clientKind: client.kind, registrar: 'apply' });
      expect(registration?.expectedConsumers).toEqual(client.policy.expectedConsumers);
    }
    // Adopted with the secrets they have: no new version anywhere.
    expect(await Promise.all(sandbox.config.clients.map(async (c) => versionsOf(c.clientId)))).toEqual(
      before,
    );
  });
});
