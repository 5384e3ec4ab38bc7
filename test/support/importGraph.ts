import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The import graph of the TypeScript tree, for the layer rules (test/unit/architecture/layers.test.ts).
 * Biome's noRestrictedImports matches the specifier text only, so it cannot tell that `../adapters/x.js`
 * from lambdas/core/steps/ stays in core while the same text from lambdas/core/ leaves it, nor follow
 * the package.json "imports" aliases; this module resolves every specifier to a folder or a package
 * first and checks the rules on what it resolved to.
 */

/** The repository's root folder, with a trailing slash: where the checks read the tree and package.json. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The package.json "imports" aliases (`#core/*` …) of the repository at `root`. */
export function readImportAliases(root: string = REPOSITORY_ROOT): ImportAliases {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { imports: ImportAliases }).imports;
}

/** One module specifier found in a source file, with the 1-based line the specifier string is on. */
export interface FoundImport {
  readonly line: number;
  readonly specifier: string;
}

/** What a specifier resolves to: a repository-relative file path, a package, or nothing we know. */
export type ImportTarget =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'package'; readonly name: string }
  | { readonly kind: 'unresolved'; readonly reason: string };

/** The package.json "imports" field: `#alias/*` → `./folder/*` (string targets, or conditions). */
export type ImportAliases = Readonly<Record<string, unknown>>;

/** A forbidden edge: files under one of `from` may not import what `forbids` matches. */
export interface LayerRule {
  /** Repository-relative folder prefixes the rule applies to, e.g. `lambdas/core/` (`''`: every file). */
  readonly from: readonly string[];
  /** Folder prefixes inside `from` the rule does not apply to, e.g. `lambdas/adapters/`. */
  readonly except?: readonly string[];
  /** Returns the forbidden edge's description (`lambdas/core → lambdas/adapters`) or undefined if allowed. */
  readonly forbids: (target: ImportTarget) => string | undefined;
}

/** One import across a forbidden edge. */
export interface LayerViolation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly rule: string;
}

/** A known violation the check tolerates until the code is fixed; `reason` says why it exists. */
export interface AllowedViolation {
  readonly file: string;
  readonly specifier: string;
  readonly reason: string;
}

/** Formats a violation as `file:line imports X (forbidden: <rule>)`. */
export function formatViolation(violation: LayerViolation): string {
  return `${violation.file}:${violation.line} imports ${violation.specifier} (forbidden: ${violation.rule})`;
}

// Keywords after which a `/` starts a regular expression rather than a division.
const KEYWORDS_BEFORE_EXPRESSION = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

type Token =
  | { readonly type: 'word'; readonly text: string; readonly line: number }
  | { readonly type: 'string'; readonly value: string; readonly line: number }
  | { readonly type: 'punct'; readonly text: string; readonly line: number }
  | { readonly type: 'other'; readonly line: number };

const WORD_CHAR = /[\p{ID_Continue}$#\u200c\u200d]/u;
const QUOTES = new Set(["'", '"']);

/**
 * Splits TypeScript source into the tokens an import needs (words, string literals, punctuation), skipping
 * comments, template text and regular expressions so an `import` written inside them is not taken for one.
 * Strings report their value without escapes resolved beyond `\x` → `x`, enough for module specifiers.
 */
function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  // One entry per open template `${`: the depth of `{` inside that expression.
  const templateDepths: number[] = [];
  let line = 1;
  let index = source.startsWith('#!') ? source.indexOf('\n') : 0;
  if (index < 0) return tokens;

  const previousAllowsDivision = (): boolean => {
    const previous = tokens.at(-1);
    if (previous === undefined) return false;
    if (previous.type === 'punct')
      return previous.text === ')' || previous.text === ']' || previous.text === '}';
    if (previous.type === 'word') return !KEYWORDS_BEFORE_EXPRESSION.has(previous.text);
    return true;
  };

  // Reads template text from `index` (just after a backtick or a closing `}`) to the closing backtick or `${`.
  const readTemplateText = (): void => {
    while (index < source.length) {
      const char = source[index];
      if (char === '\\') {
        if (source[index + 1] === '\n') line += 1;
        index += 2;
      } else if (char === '`') {
        index += 1;
        tokens.push({ type: 'other', line });
        return;
      } else if (char === '$' && source[index + 1] === '{') {
        index += 2;
        templateDepths.push(0);
        tokens.push({ type: 'punct', text: '(', line });
        return;
      } else {
        if (char === '\n') line += 1;
        index += 1;
      }
    }
  };

  while (index < source.length) {
    const char = source[index] as string;
    const next = source[index + 1];
    if (char === '\n') {
      line += 1;
      index += 1;
    } else if (/\s/u.test(char)) {
      index += 1;
    } else if (char === '/' && next === '/') {
      const end = source.indexOf('\n', index);
      index = end < 0 ? source.length : end;
    } else if (char === '/' && next === '*') {
      const end = source.indexOf('*/', index + 2);
      const stop = end < 0 ? source.length : end + 2;
      for (let at = index; at < stop; at += 1) if (source[at] === '\n') line += 1;
      index = stop;
    } else if (QUOTES.has(char)) {
      const startLine = line;
      let value = '';
      index += 1;
      while (index < source.length && source[index] !== char && source[index] !== '\n') {
        if (source[index] === '\\') index += 1;
        if (source[index] === '\n') line += 1;
        value += source[index] ?? '';
        index += 1;
      }
      if (source[index] === char) index += 1;
      tokens.push({ type: 'string', value, line: startLine });
    } else if (char === '`') {
      index += 1;
      readTemplateText();
    } else if (char === '/' && !previousAllowsDivision()) {
      // A regular expression literal: up to the unescaped `/` outside a character class, on this line.
      let at = index + 1;
      let inClass = false;
      while (at < source.length && source[at] !== '\n') {
        const regexChar = source[at];
        if (regexChar === '\\') at += 1;
        else if (regexChar === '[') inClass = true;
        else if (regexChar === ']') inClass = false;
        else if (regexChar === '/' && !inClass) break;
        at += 1;
      }
      if (source[at] === '/') {
        index = at + 1;
        while (index < source.length && WORD_CHAR.test(source[index] as string)) index += 1;
        tokens.push({ type: 'other', line });
      } else {
        // No closing slash on the line: it was a division after all.
        tokens.push({ type: 'punct', text: '/', line });
        index += 1;
      }
    } else if (WORD_CHAR.test(char)) {
      let end = index + 1;
      while (end < source.length && WORD_CHAR.test(source[end] as string)) end += 1;
      tokens.push({ type: 'word', text: source.slice(index, end), line });
      index = end;
    } else if (char === '{' && templateDepths.length > 0) {
      templateDepths[templateDepths.length - 1] = (templateDepths.at(-1) ?? 0) + 1;
      tokens.push({ type: 'punct', text: char, line });
      index += 1;
    } else if (char === '}' && templateDepths.length > 0 && templateDepths.at(-1) === 0) {
      // The `}` that closes a template's `${`: back to the template's text.
      templateDepths.pop();
      tokens.push({ type: 'punct', text: ')', line });
      index += 1;
      readTemplateText();
    } else {
      if (char === '}' && templateDepths.length > 0) {
        templateDepths[templateDepths.length - 1] = (templateDepths.at(-1) ?? 1) - 1;
      }
      tokens.push({ type: 'punct', text: char, line });
      index += 1;
    }
  }
  return tokens;
}

const isPunct = (token: Token | undefined, text: string): boolean =>
  token?.type === 'punct' && token.text === text;
const isWord = (token: Token | undefined, text: string): boolean =>
  token?.type === 'word' && token.text === text;

/**
 * Finds every module specifier in a TypeScript source: `import … from 'x'` (type-only included),
 * `import 'x'`, `export … from 'x'`, `import('x')` (dynamic and `typeof import('x')`), `require('x')`
 * and `import x = require('x')`. Only literal specifiers are found; a computed `import(name)` is not.
 */
export function findImports(source: string): FoundImport[] {
  const tokens = tokenize(source);
  const found: FoundImport[] = [];
  const add = (token: Token | undefined): void => {
    if (token?.type === 'string') found.push({ line: token.line, specifier: token.value });
  };

  for (let at = 0; at < tokens.length; at += 1) {
    const token = tokens[at];
    // `x.import`, `import.meta` and `{ import: … }` are not imports.
    if (isPunct(tokens[at - 1], '.') || isPunct(tokens[at + 1], '.') || isPunct(tokens[at + 1], ':'))
      continue;
    if (isWord(token, 'require') && isPunct(tokens[at + 1], '(') && tokens[at + 2]?.type === 'string') {
      add(tokens[at + 2]);
      continue;
    }
    const isImport = isWord(token, 'import');
    if (!isImport && !isWord(token, 'export')) continue;
    if (isImport && isPunct(tokens[at + 1], '(')) {
      add(tokens[at + 2]);
      continue;
    }
    if (isImport && tokens[at + 1]?.type === 'string') {
      add(tokens[at + 1]);
      continue;
    }
    // An import or export clause holds only names, braces, commas and `*`, then `from 'x'` or `= require('x')`.
    for (let clause = at + 1; clause < tokens.length; clause += 1) {
      const part = tokens[clause];
      if (isWord(part, 'from') && tokens[clause + 1]?.type === 'string') {
        add(tokens[clause + 1]);
        at = clause + 1;
        break;
      }
      if (isImport && isPunct(part, '=')) break; // `import x = require('y')`: the loop finds the require.
      const inClause =
        part?.type === 'word' || isPunct(part, '{') || isPunct(part, '}') || isPunct(part, ',');
      if (!inClause && !isPunct(part, '*')) break;
    }
  }
  return found;
}

/** The target an alias pattern gives for `specifier`, or undefined if it does not match. */
function matchAlias(pattern: string, target: unknown, specifier: string): string | undefined {
  const path = pickTarget(target);
  if (path === undefined) return undefined;
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === specifier ? path : undefined;
  const prefix = pattern.slice(0, star);
  const suffix = pattern.slice(star + 1);
  if (!specifier.startsWith(prefix) || !specifier.endsWith(suffix)) return undefined;
  if (specifier.length < prefix.length + suffix.length) return undefined;
  return path.replaceAll('*', specifier.slice(prefix.length, specifier.length - suffix.length));
}

// A conditional "imports" target: the branch Node takes for an ES module, else the default.
function pickTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (typeof target !== 'object' || target === null) return undefined;
  const conditions = target as Record<string, unknown>;
  for (const condition of ['node', 'import', 'default']) {
    const picked = pickTarget(conditions[condition]);
    if (picked !== undefined) return picked;
  }
  return undefined;
}

/** The package name of a bare specifier: `@scope/name` or `name`, without a subpath; builtins as `node:x`. */
function packageName(specifier: string): string {
  if (isBuiltin(specifier)) {
    const bare = specifier.startsWith('node:') ? specifier.slice('node:'.length) : specifier;
    return `node:${bare.split('/')[0]}`;
  }
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

/**
 * Resolves `specifier` as written in `fromFile` (repository-relative, posix separators): a package.json
 * "imports" alias or a relative path to a repository-relative file path, anything else to its package.
 * Only the folder matters to the rules, so the path is not checked against the disk.
 */
export function resolveImport(fromFile: string, specifier: string, aliases: ImportAliases): ImportTarget {
  if (specifier.startsWith('#')) {
    for (const [pattern, target] of Object.entries(aliases)) {
      const path = matchAlias(pattern, target, specifier);
      if (path !== undefined) return { kind: 'file', path: posix.normalize(path) };
    }
    return { kind: 'unresolved', reason: 'no package.json "imports" alias matches it' };
  }
  if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..') {
    return { kind: 'file', path: posix.join(posix.dirname(fromFile), specifier) };
  }
  if (specifier.startsWith('/') || (/^[a-z][a-z0-9+.-]*:/iu.test(specifier) && !isBuiltin(specifier))) {
    return { kind: 'unresolved', reason: 'absolute paths and URLs are not resolved' };
  }
  return { kind: 'package', name: packageName(specifier) };
}

/**
 * Checks every import of every file against the rules and returns all violations, in file and line order.
 * `files` maps repository-relative paths (posix separators) to their source.
 */
export function checkLayers(
  files: Readonly<Record<string, string>>,
  aliases: ImportAliases,
  rules: readonly LayerRule[],
): LayerViolation[] {
  const violations: LayerViolation[] = [];
  for (const file of Object.keys(files).sort()) {
    const applicable = rules.filter(
      (rule) =>
        rule.from.some((folder) => file.startsWith(folder)) &&
        !(rule.except ?? []).some((folder) => file.startsWith(folder)),
    );
    if (applicable.length === 0) continue;
    for (const { line, specifier } of findImports(files[file] as string)) {
      const target = resolveImport(file, specifier, aliases);
      for (const rule of applicable) {
        const edge = rule.forbids(target);
        if (edge !== undefined) violations.push({ file, line, specifier, rule: edge });
      }
    }
  }
  return violations;
}

/** Whether an allow-list entry covers the violation (same file, same specifier; lines move). */
export function isAllowed(violation: LayerViolation, allowList: readonly AllowedViolation[]): boolean {
  return allowList.some((entry) => entry.file === violation.file && entry.specifier === violation.specifier);
}

const SKIPPED_FOLDERS = new Set(['node_modules', 'cdk.out', 'reports', 'coverage', 'dist']);

/**
 * Reads every `.ts`/`.mts`/`.cts` file under `root` (or every file whose name matches `names`) into a
 * path → source map (repository-relative posix paths), skipping dependencies, build output and dot-folders.
 * Walks the disk rather than asking git so files not yet committed are checked too.
 */
export function readSourceTree(root: string, names: RegExp = /\.[mc]?ts$/u): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string): void => {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory() && !SKIPPED_FOLDERS.has(entry.name) && !entry.name.startsWith('.')) walk(path);
      else if (entry.isFile() && names.test(entry.name)) files[path] = readFileSync(join(root, path), 'utf8');
    }
  };
  walk('');
  return files;
}

/*
 * Import cycles. The graph's nodes are the files of the tree; an edge is any import that resolves to one
 * of them (type-only imports too: a type cycle still ties the files' design together).
 */

// How a specifier written for Node's ESM resolution names a TypeScript file: `x.js` is `x.ts`, and so on.
const SOURCE_CANDIDATES: readonly ((path: string) => string)[] = [
  (path) => path,
  (path) => path.replace(/\.js$/u, '.ts'),
  (path) => path.replace(/\.mjs$/u, '.mts'),
  (path) => path.replace(/\.cjs$/u, '.cts'),
  (path) => `${path}.ts`,
  (path) => `${path}/index.ts`,
];

/** The file of `files` an import target names, or undefined for packages and files outside the tree. */
export function targetFile(
  target: ImportTarget,
  files: Readonly<Record<string, string>>,
): string | undefined {
  if (target.kind !== 'file') return undefined;
  return SOURCE_CANDIDATES.map((candidate) => candidate(target.path)).find((path) => path in files);
}

/** The import graph of `files`: each file to the files of the tree it imports, type-only imports included. */
export function buildImportGraph(
  files: Readonly<Record<string, string>>,
  aliases: ImportAliases,
): Map<string, readonly string[]> {
  const graph = new Map<string, readonly string[]>();
  for (const file of Object.keys(files).sort()) {
    const targets = findImports(files[file] as string).map(({ specifier }) =>
      targetFile(resolveImport(file, specifier, aliases), files),
    );
    graph.set(file, [...new Set(targets.filter((target) => target !== undefined))].sort());
  }
  return graph;
}

/**
 * Every import cycle of the graph, as the sorted members of each strongly connected component of two or
 * more files (or of one file importing itself), the cycles sorted by their first member. Tarjan's algorithm.
 */
export function findImportCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    lowLink.set(file, index.get(file) as number);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        lowLink.set(file, Math.min(lowLink.get(file) as number, lowLink.get(target) as number));
      } else if (onStack.has(target)) {
        lowLink.set(file, Math.min(lowLink.get(file) as number, index.get(target) as number));
      }
    }
    if (lowLink.get(file) !== index.get(file)) return;
    const members: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      members.push(member);
    } while (member !== file);
    if (members.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(members.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}

/** A known import cycle the check tolerates: a cycle whose members are all among `members` is allowed. */
export interface AllowedCycle {
  readonly members: readonly string[];
  readonly reason: string;
}

/** Whether a known cycle covers a cycle found: every member found is one of the entry's (a cycle may shrink). */
export function coversCycle(entry: AllowedCycle, cycle: readonly string[]): boolean {
  return cycle.every((member) => entry.members.includes(member));
}

/** Whether a known long function covers one found: same file, same name (its lines move). */
export function coversLongFunction(entry: AllowedLongFunction, found: LongFunction): boolean {
  return entry.file === found.file && entry.name === found.name;
}

/*
 * Function lengths, measured on the tokens (the project's TypeScript is the native compiler, with no
 * JavaScript API to walk a syntax tree). A function starts at `function`, at a method, constructor or
 * accessor signature `name(…) {` (with an optional return type), or at `=>` followed by `{`; it ends at
 * the `}` matching its body's `{`. Tokens cannot tell a function type returning an object type
 * (`write: (id: string) => { ok: boolean }` in an interface) from an arrow function; such a type counts as
 * a function, harmlessly, as no object type runs to the length limit.
 */

/** One function of a source: its name (`constructor`, the method's, `(arrow function)`, …) and its lines. */
export interface FunctionSpan {
  readonly name: string;
  /** The 1-based line the function starts on and the line of its closing brace. */
  readonly line: number;
  readonly endLine: number;
  /** `endLine - line + 1`. */
  readonly lines: number;
}

// Words followed by `(…) {` that are statements, not method names.
const NOT_METHOD_NAMES = new Set([
  'if',
  'for',
  'while',
  'switch',
  'catch',
  'with',
  'function',
  'async',
  'return',
  'typeof',
  'await',
  'yield',
  'new',
  'super',
  'import',
]);
// Tokens after which a `{` in a return type opens an object type, not the function's body.
const BEFORE_TYPE_LITERAL = new Set([':', '|', '&', '<', ',', '(', '[', '?', '=']);
// Tokens that end a return type without a body: an overload, an interface member, a field's type.
const END_OF_SIGNATURE = new Set([';', ',', ')', ']', '}', '=']);

/** Each `(`, `[` and `{` token's matching closer, and each closer's opener. */
function matchBrackets(tokens: readonly Token[]): Map<number, number> {
  const pairs = new Map<number, number>();
  const open: number[] = [];
  const closers: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  tokens.forEach((token, at) => {
    if (token.type !== 'punct') return;
    if (token.text === '(' || token.text === '[' || token.text === '{') open.push(at);
    const opener = closers[token.text];
    if (opener === undefined) return;
    const from = open.at(-1);
    if (from === undefined || !isPunct(tokens[from], opener)) return;
    open.pop();
    pairs.set(from, at);
    pairs.set(at, from);
  });
  return pairs;
}

const isArrow = (tokens: readonly Token[], at: number): boolean =>
  isPunct(tokens[at], '=') && isPunct(tokens[at + 1], '>');

/**
 * The index of the body's `{` when a signature's parameters close just before `at` (`{`, or `: ReturnType {`),
 * else undefined. Object types in the return type (`): { a: string } {`) are skipped.
 */
function bodyAfterParameters(
  tokens: readonly Token[],
  pairs: Map<number, number>,
  at: number,
): number | undefined {
  if (isPunct(tokens[at], '{')) return at;
  if (!isPunct(tokens[at], ':')) return undefined;
  let angles = 0;
  for (let index = at + 1; index < tokens.length; index += 1) {
    const token = tokens[index] as Token;
    if (token.type !== 'punct') continue;
    const previous = tokens[index - 1];
    const afterArrow = isPunct(previous, '>') && isPunct(tokens[index - 2], '=');
    if (token.text === '(' || token.text === '[') {
      index = pairs.get(index) ?? tokens.length;
    } else if (token.text === '<') {
      angles += 1;
    } else if (token.text === '>' && !isPunct(previous, '=')) {
      angles = Math.max(0, angles - 1);
    } else if (token.text === '{') {
      const typeLiteral =
        angles > 0 || afterArrow || (previous?.type === 'punct' && BEFORE_TYPE_LITERAL.has(previous.text));
      if (!typeLiteral) return index;
      index = pairs.get(index) ?? tokens.length;
    } else if (angles === 0 && END_OF_SIGNATURE.has(token.text) && !isArrow(tokens, index)) {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Where an arrow function's signature starts: the `(` of its parameters (found back over a return type,
 * `(…): T =>`), or the single parameter before `=>`; `async` included.
 */
function arrowStart(tokens: readonly Token[], pairs: Map<number, number>, arrow: number): number {
  let start = arrow - 1;
  for (let index = arrow - 1; index >= 0 && index > arrow - 200; index -= 1) {
    const token = tokens[index];
    const closesParameters = isPunct(token, ')') && (index === arrow - 1 || isPunct(tokens[index + 1], ':'));
    if (closesParameters) {
      start = pairs.get(index) ?? index;
      break;
    }
    if (token?.type === 'punct' && [')', ']', '}'].includes(token.text)) index = pairs.get(index) ?? index;
    else if (token?.type === 'punct' && [';', '{', '(', ','].includes(token.text)) break;
  }
  return isWord(tokens[start - 1], 'async') ? start - 1 : start;
}

/** The name an arrow function starting at `start` is bound to (`const name = (…) =>`, `name: (…) =>`). */
function arrowName(tokens: readonly Token[], start: number): string {
  const binder = tokens[start - 1];
  const name = tokens[start - 2];
  const bound = isPunct(binder, '=') || isPunct(binder, ':');
  return bound && name?.type === 'word' ? name.text : '(arrow function)';
}

/** Every function of a TypeScript source with its first and last line, in source order. */
export function findFunctions(source: string): FunctionSpan[] {
  const tokens = tokenize(source);
  const pairs = matchBrackets(tokens);
  const found = new Map<number, { readonly name: string; readonly line: number }>();
  const add = (body: number | undefined, name: string, line: number): void => {
    if (body !== undefined && pairs.has(body) && !found.has(body)) found.set(body, { name, line });
  };
  // After a name and optional type parameters, the parameters' `(`: the index, or undefined.
  const parametersAt = (at: number): number | undefined => {
    let index = at;
    if (isPunct(tokens[index], '<')) {
      let angles = 0;
      for (; index < tokens.length; index += 1) {
        if (isPunct(tokens[index], '<')) angles += 1;
        if (isPunct(tokens[index], '>') && !isPunct(tokens[index - 1], '=')) angles -= 1;
        if (angles === 0) break;
      }
      index += 1;
    }
    return isPunct(tokens[index], '(') ? index : undefined;
  };
  const bodyOfSignature = (parameters: number | undefined): number | undefined => {
    const close = parameters === undefined ? undefined : pairs.get(parameters);
    return close === undefined ? undefined : bodyAfterParameters(tokens, pairs, close + 1);
  };

  tokens.forEach((token, at) => {
    if (isWord(token, 'function')) {
      let next = at + 1;
      if (isPunct(tokens[next], '*')) next += 1;
      const named = tokens[next]?.type === 'word' ? (tokens[next] as { text: string }).text : undefined;
      if (named !== undefined) next += 1;
      add(bodyOfSignature(parametersAt(next)), named ?? '(function expression)', token.line);
    } else if (token.type === 'word' && !NOT_METHOD_NAMES.has(token.text)) {
      const previous = tokens[at - 1];
      if (isWord(previous, 'extends') || isWord(previous, 'implements') || isPunct(previous, '.')) return;
      add(bodyOfSignature(parametersAt(at + 1)), token.text, token.line);
    } else if (isArrow(tokens, at) && isPunct(tokens[at + 2], '{')) {
      const start = arrowStart(tokens, pairs, at);
      add(at + 2, arrowName(tokens, start), (tokens[start] as Token).line);
    }
  });
  return [...found.entries()]
    .map(([body, { name, line }]) => {
      const endLine = (tokens[pairs.get(body) as number] as Token).line;
      return { name, line, endLine, lines: endLine - line + 1 };
    })
    .sort((a, b) => a.line - b.line);
}

/** A function over the length limit, where it is. */
export interface LongFunction extends FunctionSpan {
  readonly file: string;
}

/** A known long function the check tolerates until it is split; matched by file and name (lines move). */
export interface AllowedLongFunction {
  readonly file: string;
  readonly name: string;
  readonly reason: string;
}

/** Every function longer than `maxLines` in the files under `folders`, in file and line order. */
export function findLongFunctions(
  files: Readonly<Record<string, string>>,
  folders: readonly string[],
  maxLines: number,
): LongFunction[] {
  return Object.keys(files)
    .sort()
    .filter((file) => folders.some((folder) => file.startsWith(folder)))
    .flatMap((file) =>
      findFunctions(files[file] as string)
        .filter((span) => span.lines > maxLines)
        .map((span) => ({ file, ...span })),
    );
}

/** Formats a long function as `file:line name (N lines)`. */
export function formatLongFunction(found: LongFunction): string {
  return `${found.file}:${found.line} ${found.name} (${found.lines} lines)`;
}

/** What a check found beyond its allow list, and the allow-list entries that match nothing found any more. */
export interface AllowListComparison<Found, Entry> {
  readonly unexpected: readonly Found[];
  readonly stale: readonly Entry[];
}

/**
 * Splits a check's findings by an allow list of known violations: `unexpected` holds what no entry covers
 * (the check fails on it), `stale` the entries that cover nothing (the list must shrink with the code).
 */
export function compareWithAllowList<Found, Entry>(
  found: readonly Found[],
  allowList: readonly Entry[],
  covers: (entry: Entry, found: Found) => boolean,
): AllowListComparison<Found, Entry> {
  return {
    unexpected: found.filter((item) => !allowList.some((entry) => covers(entry, item))),
    stale: allowList.filter((entry) => !found.some((item) => covers(entry, item))),
  };
}
