import { describe, expect, it } from 'vitest';
import {
  type AllowedViolation,
  checkLayers,
  findImports,
  formatViolation,
  type ImportTarget,
  isAllowed,
  type LayerRule,
  REPOSITORY_ROOT,
  readImportAliases,
  readSourceTree,
  resolveImport,
} from '../../support/importGraph.js';

/*
 * The layer rules (issue 14): which folder may not import which. Biome's noRestrictedImports matches
 * the specifier text only; it cannot resolve `#core/*` aliases or relative paths to a folder, so the
 * rules are checked here, on the resolved import graph, and run with every `npm test`.
 */

/** A rule part that forbids imports resolving into one of the folders. */
function intoFolders(from: string, folders: readonly string[], why: string): LayerRule['forbids'] {
  return (target: ImportTarget) => {
    if (target.kind !== 'file') return undefined;
    const folder = folders.find((prefix) => `${target.path}/`.startsWith(prefix));
    return folder === undefined ? undefined : `${from} → ${folder.slice(0, -1)}: ${why}`;
  };
}

// Packages that do I/O, besides every `@aws-sdk/*`: the HTTP client and Node's network, disk and
// process modules (core uses node:crypto and node:util only; Node builtins resolve as `node:<name>`).
const IO_PACKAGES: ReadonlySet<string> = new Set([
  'undici',
  'node:http',
  'node:https',
  'node:http2',
  'node:net',
  'node:tls',
  'node:dgram',
  'node:dns',
  'node:fs',
  'node:child_process',
]);

/** The forbidden edges between the layers. */
const LAYER_RULES: readonly LayerRule[] = [
  {
    from: ['lambdas/core/'],
    forbids: intoFolders(
      'lambdas/core',
      ['lambdas/adapters/', 'lambdas/handlers/', 'lambdas/wiring/'],
      'core defines the ports, the outer layers depend on it',
    ),
  },
  {
    from: ['lambdas/core/'],
    forbids: (target) => {
      if (target.kind !== 'package') return undefined;
      const io = target.name.startsWith('@aws-sdk/') || IO_PACKAGES.has(target.name);
      return io ? `lambdas/core → ${target.name}: core does no I/O, adapters do` : undefined;
    },
  },
  {
    from: ['lib/', 'lambdas/', 'consumer/'],
    forbids: intoFolders('deployed code', ['sandbox/'], 'the sandbox is never deployed'),
  },
  {
    from: ['consumer/'],
    forbids: intoFolders('consumer', ['lib/'], 'consumers install the library, not the CDK app'),
  },
  {
    from: ['verifier/'],
    forbids: intoFolders(
      'verifier',
      ['lib/', 'sandbox/', 'cli/'],
      'resource servers install the verifier alone, not the CDK app, the sandbox or the CLI',
    ),
  },
  {
    from: ['lib/', 'lambdas/', 'consumer/', 'verifier/'],
    forbids: (target) =>
      target.kind === 'unresolved' ? `an import the check cannot place (${target.reason})` : undefined,
  },
];

/**
 * Known violations the check tolerates, each `{ file, specifier, reason }` with a reason ending "to be
 * removed by issue 14" (the specifier, not the line, which moves). Empty: `main` had none when the check
 * was added. An entry that no longer matches an import fails the last test, so the list only shrinks.
 */
const KNOWN_VIOLATIONS: readonly AllowedViolation[] = [];

const ALIASES = readImportAliases();

describe('Function: findImports', () => {
  it('finds static, type-only, side-effect, re-export and dynamic imports on the line of their specifier', () => {
    // Prepare
    const source = [
      "import { a } from './a.js';",
      "import type { B } from '#core/b.js';",
      "import './side-effect.js';",
      'import {',
      '  c,',
      "} from '@aws-sdk/client-sfn';",
      "export * from './d.js';",
      "export type { E } from './e.js';",
      "const f = await import('undici');",
      "type G = typeof import('./g.js');",
      "import h = require('./h.js');",
    ].join('\n');

    // Act
    const found = findImports(source);

    // Assess
    expect(found).toEqual([
      { line: 1, specifier: './a.js' },
      { line: 2, specifier: '#core/b.js' },
      { line: 3, specifier: './side-effect.js' },
      { line: 6, specifier: '@aws-sdk/client-sfn' },
      { line: 7, specifier: './d.js' },
      { line: 8, specifier: './e.js' },
      { line: 9, specifier: 'undici' },
      { line: 10, specifier: './g.js' },
      { line: 11, specifier: './h.js' },
    ]);
  });

  it('ignores import-like text in comments, strings, templates, regular expressions and properties', () => {
    // Prepare
    const source = [
      "// import { a } from '#adapters/a.js';",
      "/* export * from '#adapters/b.js'; */",
      'const banner = "import { createRequire } from \'module\';";',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source of a template literal, on purpose
      "const text = `import('#adapters/c.js') ${{ a: value.import }.a} ${`import '#adapters/d.js'`}`;",
      "if (/from '#adapters\\/f.js'/u.test(text)) skip('#adapters/g.js');",
      "const pattern = /import('#adapters\\/e.js')/u;",
      'const url = import.meta.url;',
      "const options = { import: 'x', export: 'y' };",
      "import { real } from '#core/real.js';",
    ].join('\n');

    // Act
    const found = findImports(source);

    // Assess
    expect(found).toEqual([{ line: 9, specifier: '#core/real.js' }]);
  });
});

describe('Function: resolveImport', () => {
  it.each([
    [
      'lambdas/core/steps/x.ts',
      '#adapters/aws/Ledger.js',
      { kind: 'file', path: 'lambdas/adapters/aws/Ledger.js' },
    ],
    [
      'lambdas/core/steps/x.ts',
      '../../adapters/aws/Ledger.js',
      { kind: 'file', path: 'lambdas/adapters/aws/Ledger.js' },
    ],
    ['lambdas/core/steps/x.ts', '../adapters/y.js', { kind: 'file', path: 'lambdas/core/adapters/y.js' }],
    ['lib/Stack.ts', '@aws-sdk/client-sfn', { kind: 'package', name: '@aws-sdk/client-sfn' }],
    ['lib/Stack.ts', 'aws-cdk-lib/aws-iam', { kind: 'package', name: 'aws-cdk-lib' }],
    ['lib/Stack.ts', 'node:fs/promises', { kind: 'package', name: 'node:fs' }],
    ['lib/Stack.ts', 'https', { kind: 'package', name: 'node:https' }],
    [
      'lib/Stack.ts',
      '#nowhere/x.js',
      { kind: 'unresolved', reason: 'no package.json "imports" alias matches it' },
    ],
  ] as const)('resolves %s importing %s', (fromFile, specifier, expected) => {
    // Act
    const target = resolveImport(fromFile, specifier, ALIASES);

    // Assess
    expect(target).toEqual(expected);
  });
});

describe('Function: checkLayers', () => {
  it('reports every import across a forbidden edge at once, each with its file, line and rule', () => {
    // Prepare
    const files = {
      'lambdas/core/steps/start.ts':
        "import type { Clock } from '../ports.js';\nimport { Ledger } from '#adapters/aws/Ledger.js';",
      'lambdas/core/sfn.ts': "import { SFNClient } from '@aws-sdk/client-sfn';",
      'lambdas/core/lazy.ts': "export async function load() {\n  return import('../handlers/steps.js');\n}",
      'lambdas/handlers/emulated.ts': "export { StytchEmulator } from '#sandbox/stytch-emulator/index.js';",
      'lib/Stack.ts': "import { Sandbox } from '../sandbox/world/Sandbox.js';",
      'consumer/index.ts': "import { RotatorStack } from '../lib/RotatorStack.js';",
      'verifier/index.ts': "import { run } from '#cli/main.js';",
    };

    // Act
    const violations = checkLayers(files, ALIASES, LAYER_RULES).map(formatViolation);

    // Assess
    expect(violations).toEqual([
      'consumer/index.ts:1 imports ../lib/RotatorStack.js (forbidden: consumer → lib: consumers install the library, not the CDK app)',
      'lambdas/core/lazy.ts:2 imports ../handlers/steps.js (forbidden: lambdas/core → lambdas/handlers: core defines the ports, the outer layers depend on it)',
      'lambdas/core/sfn.ts:1 imports @aws-sdk/client-sfn (forbidden: lambdas/core → @aws-sdk/client-sfn: core does no I/O, adapters do)',
      'lambdas/core/steps/start.ts:2 imports #adapters/aws/Ledger.js (forbidden: lambdas/core → lambdas/adapters: core defines the ports, the outer layers depend on it)',
      'lambdas/handlers/emulated.ts:1 imports #sandbox/stytch-emulator/index.js (forbidden: deployed code → sandbox: the sandbox is never deployed)',
      'lib/Stack.ts:1 imports ../sandbox/world/Sandbox.js (forbidden: deployed code → sandbox: the sandbox is never deployed)',
      'verifier/index.ts:1 imports #cli/main.js (forbidden: verifier → cli: resource servers install the verifier alone, not the CDK app, the sandbox or the CLI)',
    ]);
  });

  it('reports an alias package.json does not define, so no import escapes the check', () => {
    // Prepare
    const files = { 'lambdas/core/steps/start.ts': "import { build } from '#composition/start.js';" };

    // Act
    const violations = checkLayers(files, ALIASES, LAYER_RULES).map(formatViolation);

    // Assess
    expect(violations).toEqual([
      'lambdas/core/steps/start.ts:1 imports #composition/start.js (forbidden: an import the check cannot place (no package.json "imports" alias matches it))',
    ]);
  });

  it('passes a tree whose imports all point inward or to allowed packages', () => {
    // Prepare
    const files = {
      'lambdas/core/steps/start.ts':
        "import { z } from 'zod';\nimport { createHash } from 'node:crypto';\nimport type { Clock } from '../ports.js';",
      'lambdas/adapters/aws/Ledger.ts':
        "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport type { LedgerPort } from '#core/ports.js';",
      'lambdas/handlers/start.ts':
        "import { Ledger } from '#adapters/aws/Ledger.js';\nimport { start } from '#core/steps/start.js';",
      'consumer/index.ts': "import { Secret } from '#core/secret.js';",
      'sandbox/world/Sandbox.ts':
        "import { RotatorStack } from '../../lib/RotatorStack.js';\nimport '#handlers/start.js';",
      'test/unit/x.test.ts': "import { Sandbox } from '#sandbox/world/Sandbox.js';",
    };

    // Act
    const violations = checkLayers(files, ALIASES, LAYER_RULES);

    // Assess
    expect(violations).toEqual([]);
  });
});

describe('Layers of the repository', () => {
  const violations = checkLayers(readSourceTree(REPOSITORY_ROOT), ALIASES, LAYER_RULES);

  it('has no import across a forbidden edge beyond the known violations', () => {
    // Act
    const unexpected = violations.filter((violation) => !isAllowed(violation, KNOWN_VIOLATIONS));

    // Assess
    expect(unexpected.map(formatViolation)).toEqual([]);
  });

  it('lists only known violations that still exist', () => {
    // Act
    const stale = KNOWN_VIOLATIONS.filter(
      (entry) => !violations.some((violation) => isAllowed(violation, [entry])),
    );

    // Assess
    expect(stale).toEqual([]);
  });
});
