import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, posix } from 'node:path';

/*
 * The import graph of the TypeScript tree, for the layer rules (test/unit/architecture/layers.test.ts).
 * Biome's noRestrictedImports matches the specifier text only, so it cannot tell that `../adapters/x.js`
 * from lambdas/core/steps/ stays in core while the same text from lambdas/core/ leaves it, nor follow
 * the package.json "imports" aliases; this module resolves every specifier to a folder or a package
 * first and checks the rules on what it resolved to.
 */

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
  /** Repository-relative folder prefixes the rule applies to, e.g. `lambdas/core/`. */
  readonly from: readonly string[];
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
    const applicable = rules.filter((rule) => rule.from.some((folder) => file.startsWith(folder)));
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
 * Reads every `.ts`/`.mts`/`.cts` file under `root` into a path → source map (repository-relative posix
 * paths), skipping dependencies, build output and dot-folders. Walks the disk rather than asking git so
 * files not yet committed are checked too.
 */
export function readSourceTree(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (folder: string): void => {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory() && !SKIPPED_FOLDERS.has(entry.name) && !entry.name.startsWith('.')) walk(path);
      else if (entry.isFile() && /\.[mc]?ts$/u.test(entry.name))
        files[path] = readFileSync(join(root, path), 'utf8');
    }
  };
  walk('');
  return files;
}
