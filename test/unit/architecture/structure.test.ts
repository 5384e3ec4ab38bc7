import { describe, expect, it } from 'vitest';
import {
  type AllowedCycle,
  type AllowedLongFunction,
  type AllowedViolation,
  buildImportGraph,
  checkLayers,
  compareWithAllowList,
  coversCycle,
  coversLongFunction,
  findFunctions,
  findImportCycles,
  findLongFunctions,
  formatLongFunction,
  formatViolation,
  isAllowed,
  type LayerRule,
  type LayerViolation,
  REPOSITORY_ROOT,
  readImportAliases,
  readSourceTree,
} from '../../support/importGraph.js';

/*
 * The structure rules of issue 14, checked with every `npm test` on the files as they are on disk: no
 * import cycle, the AWS SDK only where I/O belongs, and no function too long to read. The layer rules
 * (which folder may import which) are in ./layers.test.ts, on the same import graph.
 */

const ALIASES = readImportAliases();

/** The folders whose import graph must have no cycle: everything but the tests. */
const CYCLE_FREE_FOLDERS = [
  'lib/',
  'lambdas/',
  'cli/',
  'consumer/',
  'verifier/',
  'sandbox/',
  'bin/',
  'scripts/',
  'bench/',
];

/** The folders whose functions must stay short enough to read. */
const SHORT_FUNCTION_FOLDERS = ['lib/', 'lambdas/', 'cli/'];

/** The longest function allowed there, in lines from its signature to its closing brace. */
const MAX_FUNCTION_LINES = 120;

/** Only adapters talk to AWS (and the sandbox, the benchmarks and the tests, which stand in for AWS). */
const SDK_RULE: LayerRule = {
  from: [''],
  except: ['lambdas/adapters/', 'consumer/adapters/', 'sandbox/', 'bench/', 'test/'],
  forbids: (target) =>
    target.kind === 'package' && target.name.startsWith('@aws-sdk/')
      ? `${target.name} outside an adapter: only adapters talk to AWS`
      : undefined,
};

/*
 * Known violations, each tolerated until the code that has it is moved, with the reason it exists. When
 * issue 14's moves were under way (cli/commands as one import cycle; the AWS SDK in cli/, the handlers and
 * consumer/; the constructors of StytchM2MRotator, RotatorMonitoring and RotationStateMachine over 120
 * lines), entries here read "being moved by issue 14". An entry that matches nothing fails the last tests,
 * so the lists only shrink; add to them only with a reason and an issue that removes the entry.
 */
const KNOWN_CYCLES: readonly AllowedCycle[] = [];
const KNOWN_SDK_IMPORTS: readonly AllowedViolation[] = [];
const KNOWN_LONG_FUNCTIONS: readonly AllowedLongFunction[] = [];

function cyclesOf(files: Readonly<Record<string, string>>): string[][] {
  const inScope = Object.fromEntries(
    Object.entries(files).filter(([file]) => CYCLE_FREE_FOLDERS.some((folder) => file.startsWith(folder))),
  );
  return findImportCycles(buildImportGraph(inScope, ALIASES));
}

/** `lines` lines of source: a function whose signature and closing brace are `lines` lines apart. */
function functionOfLines(name: string, lines: number): string {
  const body = Array.from({ length: lines - 2 }, (_, index) => `  const step${index} = ${index};`);
  return [`export function ${name}(): void {`, ...body, '}'].join('\n');
}

describe('Function: findFunctions', () => {
  it('finds declarations, methods, constructors, accessors and arrows from their signature to their brace', () => {
    // Prepare
    const source = [
      'export function declared<T>(value: T): { readonly value: T } {', // 1
      '  return { value };',
      '}',
      'export class Service extends Base implements Port {',
      '  public constructor(private readonly props: Props) {', // 5
      '    super(props);',
      '  }',
      '  get size(): number {',
      '    return 1;',
      '  }', // 10
      '  async #load(id: string): Promise<Map<string, { a: number }>> {',
      '    if (id) {',
      '      return new Map();',
      '    }',
      '    return await fetch(id, { method: "GET" });', // 15
      '  }',
      '}',
      'const handler = async (',
      '  event: Event,',
      '): Promise<void> => {', // 20
      '  await Promise.all([1].map((n) => {',
      '    return n;',
      '  }));',
      '};',
      'const expression = function* () {', // 25
      '  yield 1;',
      '};',
    ].join('\n');

    // Act
    const spans = findFunctions(source).map(({ name, line, lines }) => ({ name, line, lines }));

    // Assess
    expect(spans).toEqual([
      { name: 'declared', line: 1, lines: 3 },
      { name: 'constructor', line: 5, lines: 3 },
      { name: 'size', line: 8, lines: 3 },
      { name: '#load', line: 11, lines: 6 },
      { name: 'handler', line: 18, lines: 7 },
      { name: '(arrow function)', line: 21, lines: 3 },
      { name: '(function expression)', line: 25, lines: 3 },
    ]);
  });

  it('counts no signature without a body: overloads, interface members, function types, calls', () => {
    // Prepare
    const source = [
      'export function parse(text: string): number;',
      'export interface Port {',
      '  read(id: string): Promise<{ id: string }>;',
      '  readonly write: (id: string) => Promise<void>;',
      '}',
      'type Factory = new (props: Props) => Port;',
      'if (ready(1)) {',
      '  start();',
      '}',
      'for (const item of items(2)) {',
      '}',
      'const pattern = /function f() {/u;',
      '// function commented() {',
      'const text = `method() {`;',
    ].join('\n');

    // Act
    const spans = findFunctions(source);

    // Assess
    expect(spans).toEqual([]);
  });
});

describe('Function: findLongFunctions', () => {
  it(`fails a function of ${MAX_FUNCTION_LINES + 1} lines in lib/, not one of ${MAX_FUNCTION_LINES}, nor one in test/`, () => {
    // Prepare
    const files = {
      'lib/Long.ts': functionOfLines('tooLong', MAX_FUNCTION_LINES + 1),
      'lib/Limit.ts': functionOfLines('atTheLimit', MAX_FUNCTION_LINES),
      'test/unit/Long.test.ts': functionOfLines('longTest', MAX_FUNCTION_LINES + 50),
    };

    // Act
    const found = findLongFunctions(files, SHORT_FUNCTION_FOLDERS, MAX_FUNCTION_LINES).map(
      formatLongFunction,
    );

    // Assess
    expect(found).toEqual([`lib/Long.ts:1 tooLong (${MAX_FUNCTION_LINES + 1} lines)`]);
  });
});

describe('Function: findImportCycles', () => {
  it('fails a two-file cycle of a type-only import, naming both members, and passes a chain', () => {
    // Prepare
    const files = {
      'cli/commands/rotate.ts': "import { oneLine } from './status.js';\nexport const EXIT = 1;",
      'cli/commands/status.ts':
        "import type { EXIT } from '#cli/commands/rotate.js';\nexport const oneLine = 1;",
      'lambdas/core/a.ts': "import { b } from './b.js';",
      'lambdas/core/b.ts': "import { c } from './c.js';",
      'lambdas/core/c.ts': "import { z } from 'zod';",
      'lib/self.ts': "export * from './self.js';",
    };

    // Act
    const cycles = findImportCycles(buildImportGraph(files, ALIASES));

    // Assess
    expect(cycles).toEqual([['cli/commands/rotate.ts', 'cli/commands/status.ts'], ['lib/self.ts']]);
  });
});

describe('Rule: the AWS SDK only in adapters', () => {
  it('fails an SDK import in core, the CLI, a handler or consumer/, type-only ones too; passes the adapters', () => {
    // Prepare
    const files = {
      'lambdas/core/ledger.ts': "import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      'cli/commands/rotate.ts': "import { SFNClient } from '@aws-sdk/client-sfn';",
      'lambdas/handlers/start.ts': "import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
      'consumer/index.ts': "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';",
      'lambdas/adapters/aws/Ledger.ts': "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      'consumer/adapters/secrets.ts':
        "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';",
      'sandbox/world/Sandbox.ts': "import { SFNClient } from '@aws-sdk/client-sfn';",
      'bench/run.ts': "import { SFNClient } from '@aws-sdk/client-sfn';",
      'test/support/moto.ts': "import { SFNClient } from '@aws-sdk/client-sfn';",
    };

    // Act
    const violations = checkLayers(files, ALIASES, [SDK_RULE]).map(formatViolation);

    // Assess
    expect(violations).toEqual([
      'cli/commands/rotate.ts:1 imports @aws-sdk/client-sfn (forbidden: @aws-sdk/client-sfn outside an adapter: only adapters talk to AWS)',
      'consumer/index.ts:1 imports @aws-sdk/client-secrets-manager (forbidden: @aws-sdk/client-secrets-manager outside an adapter: only adapters talk to AWS)',
      'lambdas/core/ledger.ts:1 imports @aws-sdk/client-dynamodb (forbidden: @aws-sdk/client-dynamodb outside an adapter: only adapters talk to AWS)',
      'lambdas/handlers/start.ts:1 imports @aws-sdk/lib-dynamodb (forbidden: @aws-sdk/lib-dynamodb outside an adapter: only adapters talk to AWS)',
    ]);
  });
});

describe('Function: compareWithAllowList', () => {
  const reason = 'being moved by issue 14';
  const files = {
    'cli/a.ts': "import { b } from './b.js';",
    'cli/b.ts': "import { a } from './a.js';\nimport { SFNClient } from '@aws-sdk/client-sfn';",
    'lib/Stack.ts': functionOfLines('constructor', MAX_FUNCTION_LINES + 5),
  };
  const cycles = findImportCycles(buildImportGraph(files, ALIASES));
  const sdkImports = checkLayers(files, ALIASES, [SDK_RULE]);
  const longFunctions = findLongFunctions(files, SHORT_FUNCTION_FOLDERS, MAX_FUNCTION_LINES);

  it('tolerates listed violations: a cycle within the listed members, an import, a function by name', () => {
    // Act
    const results = [
      compareWithAllowList(cycles, [{ members: ['cli/a.ts', 'cli/b.ts', 'cli/c.ts'], reason }], coversCycle),
      compareWithAllowList(
        sdkImports,
        [{ file: 'cli/b.ts', specifier: '@aws-sdk/client-sfn', reason }],
        (entry: AllowedViolation, found: LayerViolation) => isAllowed(found, [entry]),
      ),
      compareWithAllowList(
        longFunctions,
        [{ file: 'lib/Stack.ts', name: 'constructor', reason }],
        coversLongFunction,
      ),
    ];

    // Assess
    expect(results).toEqual([
      { unexpected: [], stale: [] },
      { unexpected: [], stale: [] },
      { unexpected: [], stale: [] },
    ]);
  });

  it('fails on an entry that matches nothing any more, so the list cannot go stale', () => {
    // Prepare: the entries of violations that were fixed.
    const fixedCycle = { members: ['cli/commands/rotate.ts', 'cli/commands/status.ts'], reason };
    const fixedImport = { file: 'cli/b.ts', specifier: '@aws-sdk/client-scheduler', reason };
    const fixedFunction = { file: 'lib/RotatorMonitoring.ts', name: 'constructor', reason };

    // Act
    const cycleCheck = compareWithAllowList(cycles, [fixedCycle], coversCycle);
    const importCheck = compareWithAllowList(
      sdkImports,
      [fixedImport],
      (entry: AllowedViolation, found: LayerViolation) => isAllowed(found, [entry]),
    );
    const functionCheck = compareWithAllowList(longFunctions, [fixedFunction], coversLongFunction);

    // Assess: each fixed entry is stale, and what it does not cover is still unexpected.
    expect(cycleCheck).toEqual({ unexpected: [['cli/a.ts', 'cli/b.ts']], stale: [fixedCycle] });
    expect(importCheck.stale).toEqual([fixedImport]);
    expect(importCheck.unexpected.map(formatViolation)).toEqual([
      'cli/b.ts:2 imports @aws-sdk/client-sfn (forbidden: @aws-sdk/client-sfn outside an adapter: only adapters talk to AWS)',
    ]);
    expect(functionCheck.stale).toEqual([fixedFunction]);
    expect(functionCheck.unexpected.map(formatLongFunction)).toEqual([
      `lib/Stack.ts:1 constructor (${MAX_FUNCTION_LINES + 5} lines)`,
    ]);
  });
});

describe('Structure of the repository', () => {
  const files = readSourceTree(REPOSITORY_ROOT, /\.[mc]?[jt]s$/u);
  const cycles = compareWithAllowList(cyclesOf(files), KNOWN_CYCLES, coversCycle);
  const sdkImports = compareWithAllowList(
    checkLayers(files, ALIASES, [SDK_RULE]),
    KNOWN_SDK_IMPORTS,
    (entry: AllowedViolation, found: LayerViolation) => isAllowed(found, [entry]),
  );
  const longFunctions = compareWithAllowList(
    findLongFunctions(files, SHORT_FUNCTION_FOLDERS, MAX_FUNCTION_LINES),
    KNOWN_LONG_FUNCTIONS,
    coversLongFunction,
  );

  it('has no import cycle beyond the known ones, type-only imports included', () => {
    // Assess
    expect(cycles.unexpected).toEqual([]);
  });

  it('imports the AWS SDK only in adapters, the sandbox, the benchmarks and the tests', () => {
    // Assess
    expect(sdkImports.unexpected.map(formatViolation)).toEqual([]);
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines in ${SHORT_FUNCTION_FOLDERS.join(', ')} beyond the known ones`, () => {
    // Assess
    expect(longFunctions.unexpected.map(formatLongFunction)).toEqual([]);
  });

  it('lists only known violations that still exist', () => {
    // Assess
    expect({
      cycles: cycles.stale,
      sdkImports: sdkImports.stale,
      longFunctions: longFunctions.stale,
    }).toEqual({ cycles: [], sdkImports: [], longFunctions: [] });
  });
});
