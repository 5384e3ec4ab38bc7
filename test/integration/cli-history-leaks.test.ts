import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { exec } from '#cli/exec.js';
import type { LeakReportRecord } from '#core/ports.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../support/cliIo.js';
import { waitFor } from '../support/waitFor.js';

const PREFIX = 'stytch/m2m';

/** Whether anything a terminal would act on, but a line break, was printed raw. */
const hasRawControls = (printed: string): boolean =>
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(printed.replaceAll('\n', ''));

/** A reference with a screen clear, a bidi override and a forged line, as a responder could paste it. */
const HOSTILE_REFERENCE = 'ticket 9\u001b[2J \u202eevil\nrotator: all clear';

/**
 * Leak reports in `rotator history`, end to end in the sandbox: `rotator leak report` publishes
 * Secret Leak Detected, the LeakIntake function handles it and records the report in the ledger,
 * and `history` shows it next to the rotations (text and --json), outsider text escaped.
 */
describe('CLI: history shows the leak reports the intake accepted (sandbox)', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  let ledger: DynamoLedger;
  const id = (configId: string): string => sandbox.clientIdMap.get(configId) ?? configId;

  const run = async (argv: string[], stdin?: string) => {
    const io = bufferedIo(env, stdin);
    const code = await exec(argv, io);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  /** Waits until the intake has recorded the report of `eventId` (and the rotations it started ended). */
  const recorded = (clientId: string, eventId?: string): Promise<LeakReportRecord> =>
    waitFor(async () => {
      await sandbox.settle();
      const reports = await ledger.listLeakReports(clientId, 10);
      return reports.find((report) => eventId === undefined || report.eventId === eventId);
    }, 30_000);

  beforeAll(async () => {
    sandbox = await Sandbox.start({
      config: sampleSandboxConfig(),
      say: () => {},
    });
    env = { ...sandbox.cliEnv(), USER: 'responder' };
    ledger = new DynamoLedger({
      client: DynamoDBDocumentClient.from(sandbox.aws.dynamo),
      tableName: sandbox.tableName,
    });
  });
  afterAll(() => sandbox?.stop());

  it('a leak report --client-id shows in history, its reference escaped in text and exact in --json', async () => {
    // Prepare
    const clientId = id('connected-app-test-partner-portal');
    const reported = await run([
      'leak',
      'report',
      '--client-id',
      clientId,
      '--reference',
      HOSTILE_REFERENCE,
      '--json',
    ]);
    expect(reported.code).toBe(0);
    const { eventId } = JSON.parse(reported.stdout) as { eventId: string };
    await recorded(clientId, eventId);
    await waitFor(async () => {
      await sandbox.settle();
      const found = await ledger.listRotations(clientId, 10);
      return found.find((rotation) => rotation.trigger === 'leak' && rotation.status === 'completed');
    }, 30_000);

    // Act
    const human = await run(['history', clientId]);
    const json = await run(['history', clientId, '--json']);

    // Assess: text
    for (const result of [human, json]) {
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(hasRawControls(result.stdout)).toBe(false);
      expect(result.stdout).not.toMatch(/^rotator:/m);
    }
    const block = human.stdout.slice(human.stdout.indexOf('Leak reports\n'));
    expect(block).toMatch(
      /^Leak reports\n\S+Z {2}rotator-cli {2}current secret, matched by client id {2}rotation started \(arn:aws:states:\S+:leak-[\w-]+\)\n/,
    );
    expect(block).toContain(`  reference ticket 9\\x1b[2J \\u202eevil\\nrotator: all clear\n`);
    // Assess: --json keeps the exact text (controls as JSON escapes) and what came of the report.
    expect(json.stdout).toContain('\\u202e');
    const { leakReports, rotations } = JSON.parse(json.stdout) as {
      leakReports: Record<string, unknown>[];
      rotations: Record<string, unknown>[];
    };
    expect(leakReports).toEqual([
      {
        eventId,
        receivedAt: expect.stringMatching(/Z$/),
        source: 'rotator-cli',
        reference: HOSTILE_REFERENCE,
        matchedBy: 'client_id',
        leaked: 'current',
        outcome: { result: 'rotation_started', executionArn: expect.stringContaining(`:leak-${eventId}`) },
      },
    ]);
    expect(rotations).toContainEqual(expect.objectContaining({ trigger: 'leak', status: 'completed' }));
  });

  it('a leak report --secret-stdin shows as matched by a 12-character fingerprint prefix, never the value', async () => {
    // Prepare
    const clientId = id('m2m-client-test-search-indexer');
    const { SecretString } = await sandbox.aws.secretsManager.send(
      new GetSecretValueCommand({ SecretId: `${PREFIX}/${clientId}` }),
    );
    const leaked = (JSON.parse(SecretString ?? '{}') as { client_secret: string }).client_secret;
    const reported = await run(['leak', 'report', '--secret-stdin', '--json'], `${leaked}\n`);
    expect(reported.code).toBe(0);
    const { eventId, fingerprint } = JSON.parse(reported.stdout) as { eventId: string; fingerprint: string };
    await recorded(clientId, eventId);

    // Act
    const human = await run(['history', clientId]);
    const json = await run(['history', clientId, '--json']);

    // Assess
    expect(human.stdout).toMatch(
      new RegExp(
        `rotator-cli {2}current secret, matched by fingerprint ${fingerprint.slice(0, 12)}… {2}rotation started`,
      ),
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      leakReports: [{ eventId, matchedBy: 'fingerprint', fingerprintPrefix: fingerprint.slice(0, 12) }],
    });
    for (const printed of [human.stdout, json.stdout]) {
      expect(printed).not.toContain(fingerprint);
      expect(printed).not.toContain(leaked);
    }
  });
});
