import type { Command } from 'commander';
import {
  type DeploymentConfig,
  DeploymentConfigError,
  loadDeploymentConfig,
} from '../../lib/config/DeploymentConfig.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../errors.js';
import { forTerminal, jsonLine } from '../terminalText.js';

/** What `config validate` says about a valid config: the counts a reviewer checks before a deploy. */
interface ConfigSummary {
  readonly secretPrefix: string;
  readonly leakScanners: number;
  readonly crossAccountConsumerAccounts: number;
}

function summarize(config: DeploymentConfig): ConfigSummary {
  return {
    secretPrefix: config.secretPrefix,
    leakScanners: config.leakScanners.length,
    crossAccountConsumerAccounts: config.crossAccountConsumerAccounts.length,
  };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * Registers `rotator config validate <file>`: the check `cdk synth` makes on the deployment config
 * (lib/config/DeploymentConfig.ts), without synthesizing, AWS or credentials.
 */
export function registerConfigCommand(program: Command, context: CommandContext): void {
  const group = program
    .command('config')
    .summary('check a deployment config file before `cdk deploy`')
    .description(
      'Commands for the deployment config file (config/rotator.json, `cdk deploy -c config=<path>`).',
    );

  group
    .command('validate')
    .summary('check a deployment config file: every problem with its path, or a summary')
    .description(
      'Read <file> and check it as `cdk synth` and `cdk deploy` do, with no AWS access: the JSON, every ' +
        'field, the leak scanners and the cross-account consumer accounts. Prints one summary line when it is ' +
        'valid, and every problem with its path otherwise (e.g. leakScanners[0].source: must not start with ' +
        '"aws." (reserved)). The managed clients are not in it: a clients file is checked by ' +
        '`rotator apply -f <file> --dry-run` (docs/fleet.md).',
    )
    .argument('<file>', 'the deployment config (JSON)')
    .option(
      '--json',
      'print exactly one JSON document: {"file","valid",...summary} or {"file","valid":false,"problems"}',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 the config is valid; 2 it is not (or cannot be read), or a usage error.\n' +
        '\nExamples:\n' +
        '  $ rotator config validate config/rotator.json\n' +
        '  $ rotator config validate config/rotator.json --json',
    )
    .action((file: string, flags: { readonly json?: boolean }) => {
      const { io } = context;
      let config: DeploymentConfig;
      try {
        config = loadDeploymentConfig(file);
      } catch (error) {
        if (!(error instanceof DeploymentConfigError)) throw error;
        if (flags.json) {
          io.stdout.write(`${jsonLine({ file, valid: false, problems: error.issues })}\n`);
        } else {
          // The problems quote the file's own text (keys, values): each one escaped on its own line.
          const lines = error.issues.map((issue) => `  ${forTerminal(issue, 500)}\n`);
          io.stderr.write(
            `rotator: ${forTerminal(file)} is not a valid deployment config (${plural(error.issues.length, 'problem')}):\n${lines.join('')}`,
          );
        }
        context.setExitCode(ExitCode.usage);
        return;
      }
      const summary = summarize(config);
      if (flags.json) {
        io.stdout.write(`${jsonLine({ file, valid: true, ...summary })}\n`);
        return;
      }
      io.stdout.write(
        `${forTerminal(file)}: valid: secret prefix ${summary.secretPrefix}, ${plural(summary.leakScanners, 'leak scanner')}, ` +
          `${plural(summary.crossAccountConsumerAccounts, 'cross-account consumer account')}\n`,
      );
    });
}
