import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger, ledgerTableDefinition } from '#adapters/aws/DynamoLedger.js';
import { exec } from '#cli/exec.js';
import type { FleetSweepRecord } from '#core/fleetSweep.js';
import type { RotationRecord } from '#core/ports.js';
import type { ClientRegistration } from '#core/registry.js';
import { bufferedIo } from '../support/cliIo.js';
import { MOTO_CREDENTIALS, MOTO_REGION, type MotoServer, startMoto } from '../support/moto.js';

/** Whether anything a terminal would act on, but a line break, was printed raw. */
const hasRawControls = (printed: string): boolean =>
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(printed.replaceAll('\n', ''));

const HOUR = 3_600_000;

function registration(clientId: string): ClientRegistration {
  return {
    clientId,
    clientKind: 'm2m',
    name: clientId,
    scopes: [],
    expectedConsumers: ['billing-api'],
    secretId: `stytch/m2m/${clientId}`,
    registeredAt: '2026-01-01T00:00:00.000Z',
    registeredBy: 'arn:aws:iam::123456789012:user/ops',
  };
}

/** A rotation record as StartRotation creates it. */
function rotation(clientId: string, rotationId: string): RotationRecord {
  return {
    clientId,
    rotationId,
    clientKind: 'm2m',
    trigger: 'manual',
    executionId: `arn:aws:states:us-east-1:123456789012:execution:rotation:${rotationId}`,
    status: 'started',
    steps: { started: new Date().toISOString() },
    expectedConsumers: ['billing-api'],
    reports: {},
  };
}

/**
 * `rotator status --fleet` against moto: a ledger table written the way the rotator writes it
 * (registrations, locks, rotation records, the sweep's item through DynamoLedger), the CLI run
 * in process (`exec`) with the table from the environment. No Stytch, no sandbox: the fleet
 * view reads the ledger alone.
 */
describe('CLI: status --fleet (moto)', () => {
  let moto: MotoServer;
  let doc: DynamoDBDocumentClient;

  const envFor = (tableName?: string): Record<string, string> => ({
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    ...(tableName === undefined ? {} : { ROTATOR_TABLE_NAME: tableName }),
  });

  const run = async (argv: string[], env: Record<string, string>) => {
    const io = bufferedIo(env);
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  /** A fresh ledger table with `clients` registered. */
  const ledgerWith = async (clients: readonly string[]) => {
    const tableName = `ledger-${randomUUID()}`;
    const raw = moto.clients.dynamoDb();
    await raw.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
    raw.destroy();
    const ledger = new DynamoLedger({ client: doc, tableName });
    for (const clientId of clients) await ledger.putRegistration(registration(clientId));
    return { tableName, ledger };
  };

  beforeAll(async () => {
    moto = await startMoto();
    doc = moto.clients.dynamoDbDocument();
  });

  afterAll(async () => {
    doc?.destroy();
    await moto?.stop();
  });

  it('shows the managed clients, the rotations in flight by step, and the last sweep (--json and text)', async () => {
    // Prepare: five registered clients; three rotations in flight, two locks that hold none.
    const { tableName, ledger } = await ledgerWith([
      'm2m-client-test-awaiting',
      'm2m-client-test-ended',
      'm2m-client-test-idle',
      'm2m-client-test-publishing',
      'm2m-client-test-starting',
    ]);
    const now = new Date();
    const lock = async (clientId: string, rotationId: string, expiresInMs: number) =>
      ledger.acquireLock(
        { clientId, rotationId, expiresAt: new Date(now.getTime() + expiresInMs).toISOString() },
        now,
      );
    // Starting: the lock is taken, the record not written yet.
    await lock('m2m-client-test-starting', 'rotation-s', HOUR);
    // Publishing: the pending secret is stored, nothing awaits consumers yet.
    await lock('m2m-client-test-publishing', 'rotation-p', HOUR);
    await ledger.createRotation(rotation('m2m-client-test-publishing', 'rotation-p'));
    await ledger.updateRotation('m2m-client-test-publishing', 'rotation-p', { status: 'pending' });
    // Awaiting consumers: the wait holds its task token.
    await lock('m2m-client-test-awaiting', 'rotation-a', HOUR);
    await ledger.createRotation(rotation('m2m-client-test-awaiting', 'rotation-a'));
    await ledger.updateRotation('m2m-client-test-awaiting', 'rotation-a', {
      status: 'pending',
      taskToken: 'task-token-a',
    });
    // A lock left behind by a rotation that ended is no rotation in flight.
    await lock('m2m-client-test-ended', 'rotation-e', HOUR);
    await ledger.createRotation(rotation('m2m-client-test-ended', 'rotation-e'));
    await ledger.updateRotation('m2m-client-test-ended', 'rotation-e', { status: 'completed' });
    // An expired lock without a record: a start that died; nothing is in flight.
    await lock('m2m-client-test-idle', 'rotation-i', -HOUR);
    const sweep: FleetSweepRecord = {
      sweptAt: '2026-11-25T12:00:03.000Z',
      managedClients: 5,
      unmeasured: 0,
      overdue: 1,
      midRotationAtStytch: 1,
      missingAtStytch: 1,
      unmanaged: 23,
      samples: {
        overdue: ['m2m-client-test-idle'],
        midRotationAtStytch: ['m2m-client-test-ended'],
        missingAtStytch: ['m2m-client-test-starting'],
        // Stytch's own text, as the sweep copied it: a hostile id is printed escaped.
        unmanaged: [
          'connected-app-test-\u001b[2Jpartner\nrotator: all clear',
          ...Array.from({ length: 19 }, (_, i) => `m2m-client-test-stranger-${String(i).padStart(2, '0')}`),
        ],
      },
    };
    expect(await ledger.putFleetSweep(sweep)).toBe(true);

    // Act
    const json = await run(['status', '--fleet', '--json'], envFor(tableName));
    const text = await run(['status', '--fleet'], envFor(tableName));

    // Assess: one JSON document.
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      managedClients: 5,
      inFlight: {
        count: 3,
        steps: { starting: 1, publishing: 1, awaitingConsumers: 1 },
        clients: [
          { clientId: 'm2m-client-test-awaiting', rotationId: 'rotation-a', step: 'awaiting consumers' },
          { clientId: 'm2m-client-test-publishing', rotationId: 'rotation-p', step: 'publishing' },
          { clientId: 'm2m-client-test-starting', rotationId: null, step: 'starting' },
        ],
      },
      lastSweep: sweep,
      // No fleet workflow named (no stack, no ROTATOR_FLEET_STATE_MACHINE_ARN): no runs to show.
      fleetRuns: null,
    });
    // And for a terminal: counts, ids, the rest counted, nothing raw.
    expect(text.code).toBe(0);
    expect(text.stderr).toBe('');
    expect(hasRawControls(text.stdout)).toBe(false);
    const lines = text.stdout.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'Managed clients: 5',
      'In flight: 3 (starting 1, publishing 1, awaiting consumers 1)',
      '  m2m-client-test-awaiting  awaiting consumers  rotation-a',
      '  m2m-client-test-publishing  publishing  rotation-p',
      '  m2m-client-test-starting  starting',
    ]);
    expect(lines).toContain(
      'Last sweep: 2026-11-25T12:00:03.000Z (5 managed clients, 0 secret ages not measured)',
    );
    expect(text.stdout).toContain('  overdue secrets: 1\n    m2m-client-test-idle\n');
    expect(text.stdout).toContain(
      '  mid-rotation at Stytch, no rotation holding it: 1\n    m2m-client-test-ended\n',
    );
    expect(text.stdout).toContain('  missing at Stytch: 1\n    m2m-client-test-starting\n');
    expect(text.stdout).toContain('  unmanaged at Stytch (never touched): 23\n');
    expect(text.stdout).toContain('    connected-app-test-\\x1b[2Jpartner\\nrotator: all clear\n');
    expect(text.stdout).toContain('    m2m-client-test-stranger-18\n    … and 3 more\n');
  });

  it('says the hourly sweep has not run yet, and prints lastSweep null, before the first sweep', async () => {
    // Prepare
    const { tableName } = await ledgerWith(['m2m-client-test-a', 'm2m-client-test-b']);

    // Act
    const json = await run(['status', '--fleet', '--json'], envFor(tableName));
    const text = await run(['status', '--fleet'], envFor(tableName));

    // Assess
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      managedClients: 2,
      inFlight: { count: 0, steps: { starting: 0, publishing: 0, awaitingConsumers: 0 }, clients: [] },
      lastSweep: null,
      fleetRuns: null,
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      'Managed clients: 2\n' +
        'In flight: 0 (starting 0, publishing 0, awaiting consumers 0)\n' +
        'Last sweep: none yet: the hourly sweep (the secret-age publisher) has not run yet\n',
    );
  });

  it('counts the fleet past a registry item it cannot read, and names that item on stderr', async () => {
    // Prepare: two clients, and a client item a newer version (or a hand) wrote
    const { tableName } = await ledgerWith(['m2m-client-test-a', 'm2m-client-test-b']);
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...registration('m2m-client-test-edited'),
          clientKind: 'saml',
          pk: 'REGISTRY#',
          sk: 'CLIENT#m2m-client-test-edited',
        },
      }),
    );

    // Act
    const json = await run(['status', '--fleet', '--json'], envFor(tableName));

    // Assess
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ managedClients: 2 });
    expect(json.stderr).toBe(
      'rotator: skipped an unreadable registry item: The ledger item REGISTRY#/CLIENT#m2m-client-test-edited is malformed: clientKind: invalid_value\n',
    );
  });

  it('shows a sweep that could not read Stytch as unknown, with the reason', async () => {
    // Prepare
    const { tableName, ledger } = await ledgerWith(['m2m-client-test-a']);
    await ledger.putFleetSweep({
      sweptAt: '2026-11-25T13:00:01.000Z',
      managedClients: 1,
      unmeasured: 0,
      overdue: 0,
      midRotationAtStytch: null,
      missingAtStytch: null,
      unmanaged: null,
      samples: { overdue: [], midRotationAtStytch: [], missingAtStytch: [], unmanaged: [] },
      stytchProblem: 'StytchRateLimitedError: Stytch POST /v1/m2m/clients/search failed with HTTP 429',
    });

    // Act
    const text = await run(['status', '--fleet'], envFor(tableName));
    const json = await run(['status', '--fleet', '--json'], envFor(tableName));

    // Assess
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      '  Stytch could not be read in that sweep: StytchRateLimitedError: Stytch POST /v1/m2m/clients/search failed with HTTP 429\n',
    );
    expect(text.stdout).toContain('  missing at Stytch: unknown\n');
    expect((JSON.parse(json.stdout) as { lastSweep: FleetSweepRecord }).lastSweep).toMatchObject({
      midRotationAtStytch: null,
      missingAtStytch: null,
      unmanaged: null,
    });
  });

  it('refuses a client id with --fleet, and a missing table, with one line and exit 2', async () => {
    // Act
    const withClient = await run(['status', '--fleet', 'm2m-client-test-a'], envFor('any-table'));
    const withoutTable = await run(['status', '--fleet'], envFor());

    // Assess
    expect(withClient).toEqual({
      code: 2,
      stdout: '',
      stderr: expect.stringMatching(/^rotator: --fleet shows the whole fleet: give no clientId\n$/),
    });
    expect(withoutTable.code).toBe(2);
    expect(withoutTable.stdout).toBe('');
    expect(withoutTable.stderr).toMatch(
      /^rotator: the ledger table .*set ROTATOR_TABLE_NAME or pass --table\n$/,
    );
  });

  it('documents --fleet and its JSON in --help', async () => {
    // Act
    const help = await run(['status', '--help'], envFor());

    // Assess
    expect(help.code).toBe(0);
    const flat = help.stdout.replace(/\s+/g, ' ');
    expect(flat).toContain('--fleet the fleet instead (the ledger only)');
    expect(flat).toContain('lastSweep:{sweptAt,');
    expect(flat).toContain('lastSweep is null before the first sweep');
  });
});
