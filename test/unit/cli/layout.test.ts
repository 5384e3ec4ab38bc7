import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  checkLayers,
  formatViolation,
  type ImportAliases,
  type LayerRule,
  readSourceTree,
} from '../../support/importGraph.js';

/*
 * The CLI's own layout (issue 14): `exec.ts` registers the commands and nothing in cli/ imports it;
 * a command imports helpers (cli/*.ts), never another command, so cli/ has no import cycle; every
 * AWS call goes through an adapter (lambdas/adapters/aws/), so no file of cli/ imports the SDK.
 * Type-only imports count: they are edges of the graph a reader follows too.
 */

const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ALIASES = (
  JSON.parse(readFileSync(`${REPOSITORY_ROOT}package.json`, 'utf8')) as { imports: ImportAliases }
).imports;

/** The rules of cli/'s layout. */
const CLI_LAYOUT_RULES: readonly LayerRule[] = [
  {
    from: ['cli/commands/'],
    forbids: (target) =>
      target.kind === 'file' && target.path.startsWith('cli/commands/')
        ? 'cli/commands → cli/commands: a command imports helpers, never another command'
        : undefined,
  },
  {
    from: ['cli/'],
    except: ['cli/exec.ts'],
    forbids: (target) =>
      target.kind === 'file' && target.path === 'cli/exec.js'
        ? 'cli → cli/exec: exec registers the commands; what they share lives in helper modules'
        : undefined,
  },
  {
    from: ['cli/'],
    forbids: (target) =>
      target.kind === 'package' && target.name.startsWith('@aws-sdk/')
        ? `cli → ${target.name}: the CLI reaches AWS through the adapters in lambdas/adapters/aws`
        : undefined,
  },
];

describe('Layout of cli/', () => {
  it('has no command importing another command or exec.ts, and no SDK import', () => {
    // Prepare
    const tree = readSourceTree(REPOSITORY_ROOT);
    const cli = Object.fromEntries(Object.entries(tree).filter(([path]) => path.startsWith('cli/')));

    // Act
    const violations = checkLayers(cli, ALIASES, CLI_LAYOUT_RULES).map(formatViolation);

    // Assess
    expect(Object.keys(cli)).toContain('cli/exec.ts');
    expect(violations).toEqual([]);
  });

  it('reports each kind of wrong import, so a rule that matches nothing cannot pass unnoticed', () => {
    // Prepare
    const files = {
      'cli/commands/status.ts':
        "import { activeRotation } from './cancel.js';\nimport type { CommandContext } from '../exec.js';",
      'cli/managed.ts': "import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';",
      'cli/exec.ts': "import { registerStatusCommand } from './commands/status.js';",
    };

    // Act
    const violations = checkLayers(files, ALIASES, CLI_LAYOUT_RULES).map(formatViolation);

    // Assess
    expect(violations).toEqual([
      'cli/commands/status.ts:1 imports ./cancel.js (forbidden: cli/commands → cli/commands: a command imports helpers, never another command)',
      'cli/commands/status.ts:2 imports ../exec.js (forbidden: cli → cli/exec: exec registers the commands; what they share lives in helper modules)',
      'cli/managed.ts:1 imports @aws-sdk/client-secrets-manager (forbidden: cli → @aws-sdk/client-secrets-manager: the CLI reaches AWS through the adapters in lambdas/adapters/aws)',
    ]);
  });
});
