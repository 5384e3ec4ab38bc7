import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DocBlock,
  type DocCommandStep,
  type DocEnvStep,
  docPattern,
  parseDocCommands,
} from '../../support/docCommands.js';

/**
 * Every command line of README.md's and docs/*.md's shell blocks, run in CI as a reader would run
 * it: against one sandbox (`npm start -- --keep --json`, a real process), with the environment the
 * page's own `export` lines set (a `…` in a value is filled from what that run printed). The few
 * that cannot run here run a stand-in, each listed below with the reason; a command line no rule
 * classifies fails the test, so a new doc command cannot escape.
 */

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The pages, in the order a newcomer reads them (the sandbox a page leaves is the next one's). */
const PAGES = [
  'README.md',
  'docs/sandbox.md',
  'docs/operating.md',
  'docs/fleet.md',
  'docs/consumers.md',
  'docs/events.md',
  'docs/deploying.md',
  'docs/design.md',
  'docs/benchmarks.md',
  'docs/development.md',
  'docs/token-revocation.md',
] as const;

/** How a documented command is checked. */
type How =
  /** run in a shell against the sandbox, with the page's environment */
  | 'run'
  /** started, its first line of output checked, then stopped with SIGTERM (it runs until then) */
  | 'until-first-output'
  /** the shared sandbox is this very command (or the same run with --keep/--json added) */
  | 'the-sandbox-run'
  /** CI runs it itself: `.ci/run` holds the command */
  | 'ci'
  /** part of `npm test`, which CI runs: the script (or the test file) exists */
  | 'part-of-npm-test'
  /** needs an AWS account: `npx cdk synth` with the same arguments runs instead */
  | 'synth-instead'
  /** minutes of machine time: `npm run bench -- --help` runs instead and must list it */
  | 'bench-help-instead'
  /** a second 25 s sandbox run: the jq filter runs on the shared run's own JSON document */
  | 'jq-on-the-sandbox-document';

interface Rule {
  readonly pattern: RegExp;
  readonly how: How;
  readonly why: string;
}

/** The rules, first match wins. Every rule that does not run the command says why. */
const RULES: readonly Rule[] = [
  { pattern: /^npm start -- --help$/, how: 'run', why: 'prints the usage' },
  {
    pattern: /^npm ci && npm start$/,
    how: 'the-sandbox-run',
    why: 'npm ci is what CI installs with (.ci/run); npm start is the shared run (with --keep --json)',
  },
  {
    pattern: /^npm start( -- (--json|--keep|--keep --json|--json --keep))?$/,
    how: 'the-sandbox-run',
    why: 'the shared run is npm start -- --keep --json: the same four rotations, checks and leak scan',
  },
  {
    pattern: /^npm start -- --json \| jq '[^']+'$/,
    how: 'jq-on-the-sandbox-document',
    why: 'the shared run printed the same document; a second run would add 25 s',
  },
  { pattern: /^npm test$/, how: 'ci', why: 'CI runs exactly this (.ci/run); it runs this test too' },
  { pattern: /^bash \.ci\/run$/, how: 'ci', why: 'CI itself' },
  {
    pattern: /^npm run test:(unit|integration|infra)$/,
    how: 'part-of-npm-test',
    why: 'one vitest project of npm test, which CI runs',
  },
  {
    pattern: /^npx vitest run test\/\S+\.test\.ts$/,
    how: 'part-of-npm-test',
    why: 'one file of npm test, which CI runs (a vitest inside vitest would rewrite its JSON report)',
  },
  { pattern: /^npx cdk synth( -c \S+)*$/, how: 'run', why: 'offline, no credentials' },
  {
    pattern: /^npx cdk (bootstrap|deploy)( -c \S+)*$/,
    how: 'synth-instead',
    why: 'needs an AWS account and credentials',
  },
  { pattern: /^npm run bench -- --help$/, how: 'run', why: 'prints the benchmarks' },
  {
    pattern:
      /^npm run bench -- (consumer|load|leak|containment|rotation|fleet)( --clients \d+)?( --stytch-rps \d+)? --json$/,
    how: 'bench-help-instead',
    why: 'each starts its own sandbox and runs 30-40 s of measurement',
  },
  {
    pattern: /^npm run bench -- bundles --json$/,
    how: 'bench-help-instead',
    why: 'builds 11 bundles and imports each 15 times in fresh processes (1-2 min)',
  },
  { pattern: /^npx rotator emulator\b/, how: 'until-first-output', why: 'runs until SIGTERM' },
  { pattern: /^sleep \d+$/, how: 'run', why: 'a pause in a walkthrough' },
  { pattern: /^(npx rotator|aws|curl|until npx rotator) /, how: 'run', why: 'against the sandbox' },
];

/** Programs a `run` line may need that are not part of the project: without one, the line is not run. */
const OUTSIDE_TOOLS = ['aws', 'curl', 'openssl', 'jq'] as const;

function classify(command: string): Rule | undefined {
  return RULES.find((rule) => rule.pattern.test(command));
}

const allBlocks = (): { blocks: DocBlock[]; problems: string[] } => {
  const blocks: DocBlock[] = [];
  const problems: string[] = [];
  for (const page of PAGES) {
    const parsed = parseDocCommands(readFileSync(join(repoRoot, page), 'utf8'), page);
    blocks.push(...parsed.blocks);
    problems.push(...parsed.problems);
  }
  return { blocks, problems };
};

const commandsOf = (blocks: readonly DocBlock[]): DocCommandStep[] =>
  blocks.flatMap((block) => block.steps.filter((step): step is DocCommandStep => step.kind === 'command'));

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `script` in bash in the repository, as a reader's terminal would. */
function bash(script: string, env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: repoRoot, env, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => stopGroup(child), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Stops a process this test started, with everything it started (its process group). */
function stopGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** The environment a fresh terminal has: nothing of AWS, the rotator or Stytch set. */
function freshEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(AWS_|ROTATOR_|STYTCH_|CDK_)/.test(name)),
  );
  return { ...env, FORCE_COLOR: '0', AWS_EC2_METADATA_DISABLED: 'true' };
}

const hasTool = (tool: string): Promise<boolean> =>
  bash(`command -v ${tool}`, freshEnv()).then((result) => result.code === 0);

const single = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

interface SandboxDocument {
  readonly rotations: readonly { readonly outcome: string }[];
  readonly tokens: { readonly failed: number };
  readonly leakScan: { readonly secretHits: number };
  readonly checks: readonly { readonly ok: boolean }[];
  readonly endpoints: {
    readonly aws: string;
    readonly githubWebhook: { readonly url: string; readonly secret: string };
    readonly githubApi: string;
    readonly resourceServer: string;
    readonly credentials: {
      readonly consumers: Readonly<Record<string, { accessKeyId: string; secretAccessKey: string }>>;
    };
  };
}

describe('Docs: every command line of README.md and docs/*.md', () => {
  it('covers every page, and every fenced block says its language', () => {
    // Prepare
    const pages = ['README.md', ...readdirSync(join(repoRoot, 'docs')).map((name) => `docs/${name}`)];

    // Act
    const { problems } = allBlocks();

    // Assess
    expect([...PAGES].sort()).toEqual(pages.filter((page) => page.endsWith('.md')).sort());
    expect(problems).toEqual([]);
  });

  it('classifies every command line (a new one must be given a rule)', () => {
    // Act
    const unclassified = commandsOf(allBlocks().blocks)
      .filter((step) => classify(step.command) === undefined)
      .map((step) => `${step.file}:${step.line}: ${step.command}`);

    // Assess
    expect(unclassified).toEqual([]);
  });

  describe('against one sandbox: npm start -- --keep --json', () => {
    let world: ChildProcess;
    let stdout = '';
    let stderr = '';
    let document: SandboxDocument;
    let documentFile: string;
    /** The `export` lines the run printed, by variable. */
    let printed: Record<string, string>;
    const tools = new Map<string, boolean>();
    const memo = new Map<string, Promise<Finished>>();
    const notRun: string[] = [];

    const once = (script: string): Promise<Finished> => {
      const known = memo.get(script);
      if (known !== undefined) return known;
      const started = bash(script, freshEnv(), 180_000);
      memo.set(script, started);
      return started;
    };

    /** Waits until no execution runs: the pace of a reader between two blocks. */
    const quiet = async (): Promise<void> => {
      const sfn = new SFNClient({
        endpoint: document.endpoints.aws,
        region: 'us-east-1',
        credentials: {
          accessKeyId: printed.AWS_ACCESS_KEY_ID ?? '',
          secretAccessKey: printed.AWS_SECRET_ACCESS_KEY ?? '',
        },
      });
      try {
        for (let attempt = 0; attempt < 60; attempt += 1) {
          const { executions = [] } = await sfn.send(
            new ListExecutionsCommand({
              stateMachineArn: printed.ROTATOR_STATE_MACHINE_ARN,
              statusFilter: 'RUNNING',
            }),
          );
          if (executions.length === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      } finally {
        sfn.destroy();
      }
    };

    /** The value for a documented `NAME=…`: what the run printed, or its document says. */
    const fill = (name: string, block: DocBlock): string | undefined => {
      const consumer = /^consumers\.(.+)$/.exec(block.annotations.credentials ?? '')?.[1];
      const key = consumer === undefined ? undefined : document.endpoints.credentials.consumers[consumer];
      if (key !== undefined && name === 'AWS_ACCESS_KEY_ID') return key.accessKeyId;
      if (key !== undefined && name === 'AWS_SECRET_ACCESS_KEY') return key.secretAccessKey;
      const fromDocument: Record<string, string> = {
        WEBHOOK_URL: document.endpoints.githubWebhook.url,
        WEBHOOK_SECRET: document.endpoints.githubWebhook.secret,
        GITHUB_API: document.endpoints.githubApi,
        RESOURCE_SERVER: document.endpoints.resourceServer,
      };
      return printed[name] ?? fromDocument[name];
    };

    /** The shell lines an environment step becomes, after checking it against the run. */
    const envLines = (step: DocEnvStep, block: DocBlock, failures: string[]): string[] =>
      step.assignments.map(({ name, value }) => {
        const where = `${step.file}:${step.line}: ${name}`;
        let resolved = value;
        if (value.includes('…')) {
          const actual = fill(name, block);
          if (actual === undefined) failures.push(`${where}: no value for this placeholder`);
          else if (!new RegExp(`^(?:${docPattern(value).source})$`).test(actual))
            failures.push(`${where}: "${value}" does not fit "${actual}"`);
          resolved = single(actual ?? '');
        } else if (printed[name] !== undefined && value !== printed[name]) {
          failures.push(`${where}: the doc says "${value}", npm start -- --keep prints "${printed[name]}"`);
        }
        return `${step.exported ? 'export ' : ''}${name}=${resolved}`;
      });

    const check = (step: DocCommandStep, result: Finished, failures: string[]): void => {
      const where = `${step.file}:${step.line}: ${step.command.split('\n')[0]}`;
      if (result.code !== step.expect.exitCode) {
        failures.push(
          `${where}: exit ${String(result.code)}, expected ${step.expect.exitCode}\n${result.stderr.slice(-800)}`,
        );
      }
      for (const fragment of step.expect.output) {
        if (!docPattern(fragment).test(`${result.stdout}\n${result.stderr}`)) {
          failures.push(`${where}: did not print "${fragment}"\n${result.stdout.slice(-800)}`);
        }
      }
    };

    const runCommand = async (
      step: DocCommandStep,
      rule: Rule,
      prelude: readonly string[],
      failures: string[],
    ): Promise<void> => {
      const session = (command: string): string => [...prelude, command].join('\n');
      switch (rule.how) {
        case 'run': {
          const missing = OUTSIDE_TOOLS.filter(
            (tool) =>
              new RegExp(`(^|[\\s|$(])${tool}\\s`).test(session(step.command)) && tools.get(tool) !== true,
          );
          if (missing.length > 0) {
            notRun.push(`${step.file}:${step.line}: not run, ${missing.join(', ')} not installed`);
            return;
          }
          const env = freshEnv();
          const result = step.command.startsWith('npx cdk synth')
            ? await once(step.command)
            : await bash(session(step.command), env);
          check(step, result, failures);
          return;
        }
        case 'until-first-output': {
          const child = spawn('bash', ['-c', session(`exec ${step.command}`)], {
            cwd: repoRoot,
            env: freshEnv(),
            detached: true,
          });
          let out = '';
          child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
            out += chunk;
          });
          const deadline = Date.now() + 30_000;
          while (!out.includes('\n') && child.exitCode === null && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          const running = child.exitCode === null;
          stopGroup(child);
          if (!running) failures.push(`${step.file}:${step.line}: ${step.command} ended before SIGTERM`);
          check(step, { code: 0, stdout: out, stderr: '' }, failures);
          return;
        }
        case 'the-sandbox-run':
          expect(document.rotations.length).toBe(4);
          expect(document.checks.every((c) => c.ok)).toBe(true);
          expect({ failed: document.tokens.failed, secretHits: document.leakScan.secretHits }).toEqual({
            failed: 0,
            secretHits: 0,
          });
          return;
        case 'ci': {
          const ci = readFileSync(join(repoRoot, '.ci/run'), 'utf8').split('\n');
          if (step.command !== 'bash .ci/run' && !ci.includes(step.command)) {
            failures.push(`${step.file}:${step.line}: .ci/run does not run "${step.command}"`);
          }
          return;
        }
        case 'part-of-npm-test': {
          const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
            scripts: Record<string, string>;
          };
          const file = /^npx vitest run (\S+)$/.exec(step.command)?.[1];
          if (file !== undefined) {
            if (!existsSync(join(repoRoot, file)))
              failures.push(`${step.file}:${step.line}: no file ${file}`);
            return;
          }
          const script = step.command.replace(/^npm run /, '');
          if (scripts[script] === undefined) failures.push(`${step.file}:${step.line}: no script ${script}`);
          return;
        }
        case 'synth-instead':
          check(
            step,
            await once(step.command.replace(/^npx cdk (bootstrap|deploy)/, 'npx cdk synth')),
            failures,
          );
          return;
        case 'bench-help-instead': {
          const help = await once('npm run bench -- --help');
          const name = /^npm run bench -- (\S+)/.exec(step.command)?.[1] ?? '';
          check(step, help, failures);
          if (!new RegExp(`^ {2}${name}\\s`, 'm').test(help.stdout) || !help.stdout.includes('--json')) {
            failures.push(`${step.file}:${step.line}: npm run bench -- --help does not list ${name} --json`);
          }
          return;
        }
        case 'jq-on-the-sandbox-document': {
          const filter = step.command.slice(step.command.indexOf('| jq ') + 2);
          check(step, await bash(`${filter} < ${single(documentFile)}`, freshEnv()), failures);
          return;
        }
      }
    };

    beforeAll(async () => {
      for (const tool of OUTSIDE_TOOLS) tools.set(tool, await hasTool(tool));
      world = spawn('npm', ['start', '--', '--keep', '--json'], {
        cwd: repoRoot,
        env: freshEnv(),
        detached: true,
      });
      world.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      world.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const deadline = Date.now() + 110_000;
      while (
        !stderr.includes('Press Ctrl-C to stop it.') &&
        world.exitCode === null &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(world.exitCode, stderr.slice(-2000)).toBeNull();
      document = JSON.parse(stdout.split('\n')[0] ?? '') as SandboxDocument;
      documentFile = join(mkdtempSync(join(tmpdir(), 'docs-commands-')), 'sandbox.json');
      writeFileSync(documentFile, stdout.split('\n')[0] ?? '');
      printed = {};
      for (const [, line] of stderr.matchAll(/^ {2}export (.+)$/gm)) {
        for (const pair of (line ?? '').split(' ')) {
          printed[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
        }
      }
      // The offline synth runs beside the reading of the first pages.
      void once('npx cdk synth');
    }, 120_000);

    afterAll(async () => {
      if (world === undefined) return;
      stopGroup(world);
      await new Promise((resolve) => {
        if (world.exitCode !== null || world.signalCode !== null) resolve(undefined);
        else world.once('exit', resolve);
      });
      await Promise.all(memo.values());
    }, 60_000);

    it.each(PAGES)(
      '%s: each command does what the page says',
      async (page) => {
        // Prepare
        const blocks = allBlocks().blocks.filter((block) => block.file === page);
        const failures: string[] = [];

        // Act: each block as a fresh reader's session, the page's environment lines carried along.
        let prelude: string[] = [];
        for (const block of blocks) {
          await quiet();
          for (const step of block.steps) {
            if (step.kind === 'env') {
              prelude = [...prelude, ...envLines(step, block, failures)];
              continue;
            }
            const rule = classify(step.command);
            if (rule === undefined) failures.push(`${step.file}:${step.line}: no rule for ${step.command}`);
            else await runCommand(step, rule, prelude, failures);
          }
        }

        // Assess
        expect(failures).toEqual([]);
      },
      200_000,
    );

    it('says which lines it could not run for want of a tool (none on a machine with them all)', () => {
      const missing = [...tools].filter(([, present]) => !present).map(([tool]) => tool);
      expect(notRun.every((line) => missing.some((tool) => line.includes(tool)))).toBe(true);
    });
  });
});
