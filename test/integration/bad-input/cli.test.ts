import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '#cli/errors.js';
import { exec } from '#cli/exec.js';
import { Sandbox } from '#sandbox/world/Sandbox.js';
import { sampleSandboxConfig } from '#sandbox/world/sandboxConfig.js';
import { bufferedIo } from '../../support/cliIo.js';
import { waitFor } from '../../support/waitFor.js';
import { type WorldState, worldStateOf } from '../../support/worldState.js';

/**
 * The CLI's bad inputs (issue 8 §5): every one ends with the documented exit code, one line on
 * stderr naming the problem (no stack trace), and no state change anywhere: no execution started,
 * the ledger and every secret's versions as they were, no rotation call at Stytch.
 */

const BILLING = 'm2m-client-test-billing-worker';
const PAYMENTS = 'm2m-client-test-payments';
const INDEXER = 'm2m-client-test-search-indexer';
const UNREACHABLE = 'http://127.0.0.1:1';

/** Lines of stderr that are not commander's hints (`(run with --help for usage)`, `(Did you mean …?)`). */
function problemLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => !/^\(run with --help for usage\)$/.test(line) && !/^\(Did you mean .+\?\)$/.test(line));
}

function expectOneClearLine(stderr: string, problem: RegExp): void {
  expect(problemLines(stderr)).toEqual([expect.stringMatching(problem)]);
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/internal error/);
}

describe('CLI bad inputs against the sandbox', () => {
  let sandbox: Sandbox;
  let env: Record<string, string>;
  /** Everything every run printed, for the secret check at the end. */
  const printed: string[] = [];

  const run = async (argv: readonly string[], overrides: Record<string, string | undefined> = {}) => {
    const io = bufferedIo({ ...env, ...overrides });
    const code = await exec(argv, io);
    printed.push(io.stdout.text, io.stderr.text);
    return { code, stdout: io.stdout.text, stderr: io.stderr.text };
  };

  const worldState = (): Promise<WorldState> => worldStateOf(sandbox);

  beforeAll(async () => {
    sandbox = await Sandbox.start({
      config: sampleSandboxConfig(),
      say: () => {},
    });
    env = { ...sandbox.cliEnv(), USER: 'tester' };
  });
  afterAll(() => sandbox?.stop());

  describe('usage and setup errors: exit 2, one line, nothing changed', () => {
    it.each<[string, string[], Record<string, string | undefined>, RegExp]>([
      ['an unknown command', ['rotat', BILLING], {}, /^error: unknown command 'rotat'$/],
      ['an unknown flag of rotate', ['rotate', BILLING, '--force'], {}, /^error: unknown option '--force'$/],
      ['an unknown flag of status', ['status', '--all'], {}, /^error: unknown option '--all'$/],
      [
        'rotate without its client id',
        ['rotate', '--no-wait'],
        {},
        // Optional since a fleet run needs none: named by the command, with the other way out.
        /^rotator: give the <clientId> to rotate, or --all \/ --selector <expr>$/,
      ],
      ['history without its client id', ['history'], {}, /^error: missing required argument 'clientId'$/],
      ['cancel without its client id', ['cancel'], {}, /^error: missing required argument 'clientId'$/],
      [
        'status with two client ids',
        ['status', BILLING, PAYMENTS],
        {},
        /^error: too many arguments for 'status'/,
      ],
      [
        'a client id with a path',
        ['history', '../etc/passwd'],
        {},
        /^rotator: client id "\.\.\/etc\/passwd" must be letters, digits/,
      ],
      [
        'a client id with a non-ASCII letter',
        ['rotate', 'clíent', '--no-wait'],
        {},
        /^rotator: client id "clíent"/,
      ],
      ['a client id starting with "_"', ['cancel', '_billing'], {}, /^rotator: client id "_billing"/],
      [
        'a client id of 129 characters',
        ['status', 'c'.repeat(129)],
        {},
        /^rotator: client id "c{129}" .*\(1-128\)$/,
      ],
      [
        '--reason without its value',
        ['rotate', BILLING, '--no-wait', '--reason'],
        {},
        /^error: option '--reason <text>' argument missing$/,
      ],
      [
        'an empty --reason',
        ['rotate', BILLING, '--no-wait', '--reason', ''],
        {},
        /^rotator: --reason must be 1 to 500 characters$/,
      ],
      [
        'a whitespace-only --reason of emergency',
        ['emergency', BILLING, '--no-wait', '--reason', ' \t '],
        {},
        /^rotator: --reason must be 1 to 500 characters$/,
      ],
      [
        'a 501-character --reason',
        ['rotate', BILLING, '--no-wait', '--reason', 'r'.repeat(501)],
        {},
        /^rotator: --reason must be 1 to 500 characters$/,
      ],
      [
        'a 501-character --reason of cancel',
        ['cancel', BILLING, '--reason', 'r'.repeat(501)],
        {},
        /^rotator: --reason must be 1 to 500 characters$/,
      ],
      [
        'emergency without --reason',
        ['emergency', PAYMENTS, '--no-wait'],
        {},
        /^rotator: emergency needs --reason/,
      ],
      [
        'emergency without a state machine',
        ['emergency', PAYMENTS, '--no-wait', '--reason', 'leaked'],
        { ROTATOR_STATE_MACHINE_ARN: undefined },
        /^rotator: .* is not known: set ROTATOR_STATE_MACHINE_ARN or pass --state-machine-arn$/,
      ],
      [
        'status without a secret prefix',
        ['status'],
        { ROTATOR_SECRET_PREFIX: undefined },
        /^rotator: .* is not known: set ROTATOR_SECRET_PREFIX or pass --secret-prefix$/,
      ],
      [
        'cancel with a whitespace-only table variable',
        ['cancel', BILLING],
        { ROTATOR_TABLE_NAME: '   ' },
        /^rotator: .* is not known: set ROTATOR_TABLE_NAME or pass --table$/,
      ],
      ['an empty --table', ['history', BILLING, '--table', ''], {}, /^rotator: --table must not be empty$/],
      [
        'an empty --state-machine-arn',
        ['rotate', BILLING, '--no-wait', '--state-machine-arn', ''],
        {},
        /^rotator: --state-machine-arn must not be empty$/,
      ],
      [
        '--limit 0',
        ['history', BILLING, '--limit', '0'],
        {},
        /^rotator: --limit must be an integer from 1 to 1000 \(got "0"\)$/,
      ],
      ['--limit 1001', ['history', BILLING, '--limit', '1001'], {}, /^rotator: --limit .*\(got "1001"\)$/],
      ['--limit 1.5', ['history', BILLING, '--limit', '1.5'], {}, /^rotator: --limit .*\(got "1\.5"\)$/],
      ['--limit -3', ['history', BILLING, '--limit', '-3'], {}, /^rotator: --limit .*\(got "-3"\)$/],
      ['--limit ten', ['history', BILLING, '--limit', 'ten'], {}, /^rotator: --limit .*\(got "ten"\)$/],
      [
        'consumer check with an empty --secret-id',
        ['consumer', 'check', '--secret-id', '', '--consumer', 'billing-api'],
        {},
        /^rotator: --secret-id <id> is required$/,
      ],
      [
        'consumer check with a secret id with spaces',
        ['consumer', 'check', '--secret-id', 'stytch/m2m/a b', '--consumer', 'billing-api'],
        {},
        /^rotator: --secret-id must be a secret name or ARN/,
      ],
      [
        'consumer check with a consumer starting with "."',
        ['consumer', 'check', '--secret-id', `stytch/m2m/${BILLING}`, '--consumer', '.billing'],
        {},
        /^rotator: --consumer must be 1 to 64 letters/,
      ],
      [
        'consumer check with a bad --event-bus',
        [
          'consumer',
          'check',
          '--secret-id',
          `stytch/m2m/${BILLING}`,
          '--consumer',
          'billing-api',
          '--event-bus',
          'my bus',
        ],
        {},
        /^rotator: --event-bus must be an event bus name or ARN/,
      ],
      [
        'consumer check with a bad ROTATOR_EVENT_BUS_NAME',
        ['consumer', 'check', '--secret-id', `stytch/m2m/${BILLING}`, '--consumer', 'billing-api'],
        { ROTATOR_EVENT_BUS_NAME: 'my bus' },
        /^rotator: ROTATOR_EVENT_BUS_NAME must be an event bus name or ARN/,
      ],
      [
        'consumer check with an unknown flag',
        [
          'consumer',
          'check',
          '--secret-id',
          `stytch/m2m/${BILLING}`,
          '--consumer',
          'billing-api',
          '--pending',
        ],
        {},
        /^error: unknown option '--pending'$/,
      ],
      ['an unknown consumer subcommand', ['consumer', 'verify'], {}, /^error: unknown command 'verify'$/],
    ])('%s', async (_label, argv, overrides, problem) => {
      // Prepare
      const before = await worldState();

      // Act
      const result = await run(argv, overrides);

      // Assess
      expect(result.code).toBe(ExitCode.usage);
      expect(result.stdout).toBe('');
      expectOneClearLine(result.stderr, problem);
      expect(await worldState()).toEqual(before);
    });

    it('status of a client that is not managed names the missing secret', async () => {
      // Prepare
      const before = await worldState();

      // Act
      const result = await run(['status', 'm2m-client-test-nobody', '--json']);

      // Assess
      expect(result.code).toBe(ExitCode.usage);
      expect(result.stdout).toBe('');
      expectOneClearLine(
        result.stderr,
        /^rotator: m2m-client-test-nobody is not managed: there is no secret stytch\/m2m\/m2m-client-test-nobody$/,
      );
      expect(await worldState()).toEqual(before);
    });

    it.each<[string, string[]]>([
      ['emergency --wait', ['emergency', 'm2m-client-test-nobody', '--reason', 'leaked', '--wait', '--json']],
      ['emergency --no-wait', ['emergency', 'm2m-client-test-nobody', '--reason', 'leaked', '--no-wait']],
      ['rotate --no-wait', ['rotate', 'm2m-client-test-nobody', '--no-wait', '--json']],
      ['leak report --client-id', ['leak', 'report', '--client-id', 'm2m-client-test-nobody']],
      ['history', ['history', 'm2m-client-test-nobody']],
    ])('%s of a client that is not managed is refused before anything starts', async (_label, argv) => {
      // Prepare
      const before = await worldState();

      // Act
      const result = await run(argv);

      // Assess
      expect(result.code).toBe(ExitCode.usage);
      expect(result.stdout).toBe('');
      expectOneClearLine(
        result.stderr,
        /^rotator: m2m-client-test-nobody is not managed by this deployment \(no secret stytch\/m2m\/m2m-client-test-nobody\)/,
      );
      expect(await worldState()).toEqual(before);
    });

    it('a usage error stays one line even with ROTATOR_DEBUG', async () => {
      // Act
      const result = await run(['rotate', '../etc', '--no-wait'], { ROTATOR_DEBUG: '1' });

      // Assess
      expect(result.code).toBe(ExitCode.usage);
      expectOneClearLine(result.stderr, /^rotator: client id "\.\.\/etc"/);
    });
  });

  describe('requests that reach AWS but have nothing to act on: exit 1, one line, nothing changed', () => {
    it('cancel with nothing in progress says so and changes nothing', async () => {
      // Prepare
      const before = await worldState();

      // Act
      const result = await run(['cancel', PAYMENTS, '--reason', 'nothing to cancel', '--json']);

      // Assess
      expect(result.code).toBe(ExitCode.failed);
      expect(result.stdout).toBe('');
      expectOneClearLine(result.stderr, new RegExp(`^rotator: no rotation in progress for ${PAYMENTS}$`));
      expect(await worldState()).toEqual(before);
    });

    it('history of a managed client the ledger never saw rotate reports no rotations and changes nothing', async () => {
      // Prepare
      const before = await worldState();

      // Act
      const result = await run(['history', INDEXER]);

      // Assess
      expect(result.code).toBe(ExitCode.ok);
      expect(result.stdout).toBe(`No rotations of ${INDEXER} in the ledger\n`);
      expect(result.stderr).toBe('');
      expect(await worldState()).toEqual(before);
    });

    it('a second rotate while one is in progress is refused, and the first goes on untouched', async () => {
      // Prepare
      const first = await run(['rotate', BILLING, '--no-wait', '--json', '--reason', 'first']);
      expect(first.code).toBe(ExitCode.ok);
      const { executionArn, rotationId } = JSON.parse(first.stdout) as {
        executionArn: string;
        rotationId: string;
      };
      await waitFor(async () => {
        const status = await run(['status', BILLING, '--json']);
        return status.stdout.includes('"step":"awaiting consumers"') ? true : undefined;
      });
      const before = await worldState();

      // Act
      const second = await run(['rotate', BILLING, '--wait', '--json', '--reason', 'second']);

      // Assess
      expect(second.code).toBe(ExitCode.failed);
      expect(JSON.parse(second.stdout)).toMatchObject({
        outcome: 'rejected',
        reason: 'RotationInProgressError',
      });
      expectOneClearLine(second.stderr, /^rotator: rejected: RotationInProgressError: /);
      const after = await worldState();
      const started = after.executions.filter((arn) => !before.executions.includes(arn));
      expect(started).toHaveLength(1);
      // Refused, not failed: the execution succeeds with the refusal as its output (pages no one).
      const refused = sandbox.executor.describeExecution(started[0] ?? '');
      expect(refused.status).toBe('SUCCEEDED');
      expect(JSON.parse(refused.output ?? '{}')).toMatchObject({
        outcome: 'rejected',
        error: 'RotationInProgressError',
      });
      // Reading AWSCURRENT re-indexes its fingerprint (same entry, a new updatedAt): not a change of state.
      expect(withoutIndexTimes({ ...after, executions: before.executions })).toEqual(
        withoutIndexTimes(before),
      );
      expect(sandbox.executor.describeExecution(executionArn).status).toBe('RUNNING');
      const status = JSON.parse((await run(['status', BILLING, '--json'])).stdout) as {
        clients: Record<string, unknown>[];
      };
      expect(status.clients[0]).toMatchObject({
        state: 'rotating',
        rotationId,
        pending: { versionId: rotationId },
      });

      // The first one can still be cancelled, after which cancel has nothing left to act on.
      const cancelled = await run(['cancel', BILLING, '--json']);
      expect(cancelled.code).toBe(ExitCode.ok);
      expect(JSON.parse(cancelled.stdout)).toMatchObject({ executionArn, outcome: 'cancelled' });
      const idle = await worldState();
      const again = await run(['cancel', BILLING]);
      expect(again.code).toBe(ExitCode.failed);
      expectOneClearLine(again.stderr, new RegExp(`^rotator: no rotation in progress for ${BILLING}$`));
      expect(await worldState()).toEqual(idle);
    });
  });

  it('nothing any run printed contains a secret', () => {
    // Assess
    const text = printed.join('\n');
    expect(text.length).toBeGreaterThan(0);
    for (const secret of sandbox.secrets) expect(text).not.toContain(secret.reveal());
  });

  describe('setup errors (unreachable or missing resources) are user errors', () => {
    // cli/errors.ts: "user errors (bad flags, unreachable endpoints, missing resources) exit with 2 and
    // print only the message"; every operator command must hold to it, as `consumer check` does.
    it.each<[string, string[]]>([
      ['rotate', ['rotate', BILLING, '--no-wait']],
      ['status', ['status']],
      ['history', ['history', BILLING]],
      ['cancel', ['cancel', INDEXER]],
    ])(
      '%s with an unreachable AWS endpoint: exit 2, one line naming the endpoint',
      async (_command, argv) => {
        // Prepare
        const before = await worldState();

        // Act
        const result = await run(argv, { AWS_ENDPOINT_URL: UNREACHABLE });

        // Assess
        expect(result.stdout).toBe('');
        expectOneClearLine(result.stderr, /^rotator: .*127\.0\.0\.1:1/);
        expect(result.code).toBe(ExitCode.usage);
        expect(await worldState()).toEqual(before);
      },
    );

    it('an AWS_ENDPOINT_URL that is not a URL: exit 2, one line naming the variable', async () => {
      // Act
      const result = await run(['rotate', BILLING, '--no-wait'], { AWS_ENDPOINT_URL: 'not a url' });

      // Assess
      expectOneClearLine(result.stderr, /^rotator: .*AWS_ENDPOINT_URL/);
      expect(result.code).toBe(ExitCode.usage);
    });

    it('a --table that does not exist: exit 2, one line naming the table', async () => {
      // Prepare
      const before = await worldState();

      // Act
      const result = await run(['history', BILLING, '--table', 'no-such-table']);

      // Assess
      expectOneClearLine(result.stderr, /^rotator: .*no-such-table/);
      expect(result.code).toBe(ExitCode.usage);
      expect(await worldState()).toEqual(before);
    });

    it('a --state-machine-arn that does not exist: exit 2, one line naming it, nothing started', async () => {
      // Prepare
      const before = await worldState();
      const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:NoSuchMachine';

      // Act
      const result = await run(['rotate', BILLING, '--no-wait', '--state-machine-arn', arn]);

      // Assess
      expectOneClearLine(result.stderr, /^rotator: .*NoSuchMachine/);
      expect(result.code).toBe(ExitCode.usage);
      expect(await worldState()).toEqual(before);
    });

    it('a --secret-prefix that no secret name can have is a usage error, not "No managed clients"', async () => {
      // Act
      const result = await run(['status', '--secret-prefix', 'stytch m2m']);

      // Assess
      expect(result.stdout).toBe('');
      expectOneClearLine(result.stderr, /^rotator: --secret-prefix /);
      expect(result.code).toBe(ExitCode.usage);
    });
  });
});

/** The state with the fingerprint index's `updatedAt` left out (a read of AWSCURRENT refreshes it). */
function withoutIndexTimes(state: WorldState): WorldState {
  return {
    ...state,
    ledger: state.ledger.map((text) => {
      const item = JSON.parse(text) as Record<string, unknown>;
      if (typeof item.pk !== 'string' || !item.pk.startsWith('FINGERPRINT#')) return text;
      const { updatedAt: _updatedAt, ...rest } = item;
      return JSON.stringify(rest);
    }),
  };
}
