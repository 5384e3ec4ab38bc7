/**
 * Reads the command lines out of the docs' fenced shell blocks, so a test can run each one as a
 * reader would (test/integration/docs/commands.test.ts). A block is a small shell session:
 *
 * - a logical line is what the shell would read as one line: `\` continues it, and so does a quote
 *   left open (a multi-line JSON argument); `#` outside quotes starts a comment;
 * - a line of assignments only (`export A=1 B=2`, `sig=$(…)`) sets the session's environment;
 * - a comment line `# → text` under a command is output the command must print (`…` matches
 *   anything), `# → exit N` the exit code it must end with (0 unless said);
 * - an HTML comment `<!-- docs-test: key=value … -->` right before a block annotates the block.
 *
 * Every fenced block must name its language, so a command cannot hide in an untagged block.
 */

/** The fence languages whose blocks hold shell commands. */
export const SHELL_LANGUAGES: readonly string[] = ['bash', 'sh', 'shell', 'console'];

/** One `NAME=value` of an assignment line; `value` as written (quotes and `$(…)` kept). */
export interface DocAssignment {
  readonly name: string;
  readonly value: string;
}

/** Where a line is: the file and its 1-based line number. */
export interface DocLocation {
  readonly file: string;
  readonly line: number;
}

/** A line of assignments only: it sets the environment of the commands after it. */
export interface DocEnvStep extends DocLocation {
  readonly kind: 'env';
  readonly exported: boolean;
  readonly assignments: readonly DocAssignment[];
}

/** A command line, with what the doc says it prints and how it ends. */
export interface DocCommandStep extends DocLocation {
  readonly kind: 'command';
  /** The command as the shell reads it: continuations joined, the trailing comment dropped. */
  readonly command: string;
  readonly expect: { exitCode: number; readonly output: string[] };
}

/** One fenced shell block and its steps, in order. */
export interface DocBlock extends DocLocation {
  readonly language: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly steps: readonly (DocEnvStep | DocCommandStep)[];
}

/** What {@link parseDocCommands} found in one markdown file. */
export interface DocCommands {
  readonly blocks: readonly DocBlock[];
  /** What the docs must fix: an untagged block, an expectation with no command above it. */
  readonly problems: readonly string[];
}

const FENCE = /^(\s*)```(\S*)\s*$/;
const ANNOTATION = /^<!--\s*docs-test:\s*(.*?)\s*-->$/;
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

/** The shell blocks of `markdown` (the text of `file`) with their commands and environment lines. */
export function parseDocCommands(markdown: string, file: string): DocCommands {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = FENCE.exec(lines[i] ?? '');
    if (open === null) continue;
    const indent = open[1]?.length ?? 0;
    const language = open[2] ?? '';
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !/^\s*```\s*$/.test(lines[i] ?? ''); i += 1) {
      body.push((lines[i] ?? '').slice(indent));
    }
    if (language === '') {
      problems.push(
        `${file}:${start + 1}: a fenced block without a language (sh for commands, text for output)`,
      );
      continue;
    }
    if (!SHELL_LANGUAGES.includes(language)) continue;
    const steps =
      language === 'console'
        ? consoleSteps(body, file, start + 2, problems)
        : shellSteps(body, file, start + 2, problems);
    blocks.push({ file, line: start + 1, language, annotations: annotationsBefore(lines, start), steps });
  }
  return { blocks, problems };
}

function annotationsBefore(lines: readonly string[], fence: number): Record<string, string> {
  let j = fence - 1;
  while (j >= 0 && (lines[j] ?? '').trim() === '') j -= 1;
  const match = ANNOTATION.exec((lines[j] ?? '').trim());
  if (match === null) return {};
  return Object.fromEntries(
    (match[1] ?? '')
      .split(/\s+/)
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

/** A logical shell line: its code (comment removed) and its comment, where it starts. */
interface LogicalLine {
  readonly code: string;
  readonly comment: string;
  readonly line: number;
}

/**
 * Splits shell text into logical lines the way the shell reads them: a backslash-newline outside
 * single quotes joins lines, a newline inside quotes belongs to the word, `#` at a word start
 * outside quotes and `$(…)` starts a comment that runs to the end of the line.
 */
function logicalLines(body: readonly string[], firstLine: number): LogicalLine[] {
  const text = body.join('\n');
  const result: LogicalLine[] = [];
  let code = '';
  let comment = '';
  let quote: "'" | '"' | null = null;
  let depth = 0;
  let inComment = false;
  let line = firstLine;
  let startLine = firstLine;
  const flush = (): void => {
    if (code.trim() !== '' || comment.trim() !== '')
      result.push({ code: code.trim(), comment: comment.trim(), line: startLine });
    code = '';
    comment = '';
  };
  for (let k = 0; k < text.length; k += 1) {
    const c = text[k] ?? '';
    if (c === '\n') line += 1;
    if (inComment) {
      if (c === '\n') {
        inComment = false;
        flush();
        startLine = line;
      } else comment += c;
      continue;
    }
    if (quote === "'") {
      code += c;
      if (c === "'") quote = null;
      continue;
    }
    if (c === '\\' && text[k + 1] === '\n' && quote === null) {
      // A line continuation: the shell drops both characters.
      code += ' ';
      k += 1;
      line += 1;
      continue;
    }
    if (c === '\\') {
      code += c + (text[k + 1] ?? '');
      k += 1;
      continue;
    }
    if (quote === '"') {
      code += c;
      if (c === '"') quote = null;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      code += c;
      continue;
    }
    if (c === '$' && text[k + 1] === '(') {
      depth += 1;
      code += '$(';
      k += 1;
      continue;
    }
    if (c === ')' && depth > 0) depth -= 1;
    if (c === '#' && depth === 0 && (code === '' || /\s$/.test(code))) {
      inComment = true;
      continue;
    }
    if (c === '\n' && depth === 0) {
      flush();
      startLine = line;
      continue;
    }
    code += c;
  }
  flush();
  return result;
}

/** The top-level words of `code` (whitespace outside quotes and `$(…)` separates them). */
function words(code: string): string[] {
  const result: string[] = [];
  let word = '';
  let quote: string | null = null;
  let depth = 0;
  for (let k = 0; k < code.length; k += 1) {
    const c = code[k] ?? '';
    if (quote !== null) {
      if (c === '\\' && quote === '"') {
        word += c + (code[k + 1] ?? '');
        k += 1;
        continue;
      }
      if (c === quote) quote = null;
      word += c;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '$' && code[k + 1] === '(') depth += 1;
    else if (c === ')' && depth > 0) depth -= 1;
    if (/\s/.test(c) && depth === 0) {
      if (word !== '') result.push(word);
      word = '';
      continue;
    }
    word += c;
  }
  if (word !== '') result.push(word);
  return result;
}

/** The assignments of a line that holds nothing else, or undefined for a command line. */
function assignmentLine(code: string): { exported: boolean; assignments: DocAssignment[] } | undefined {
  const all = words(code);
  const exported = all[0] === 'export';
  const rest = exported ? all.slice(1) : all;
  if (rest.length === 0) return undefined;
  const assignments: DocAssignment[] = [];
  for (const word of rest) {
    const match = ASSIGNMENT.exec(word);
    if (match === null) return undefined;
    assignments.push({ name: match[1] ?? '', value: match[2] ?? '' });
  }
  return { exported, assignments };
}

/** An expectation comment (`→ …`) in the comment text, or undefined. */
function expectation(comment: string): { exitCode: number } | { output: string } | undefined {
  if (!comment.startsWith('→')) return undefined;
  const text = comment.slice(1).trim();
  const exit = /^exit (\d+)$/.exec(text);
  return exit === null ? { output: text } : { exitCode: Number(exit[1]) };
}

function shellSteps(
  body: readonly string[],
  file: string,
  firstLine: number,
  problems: string[],
): (DocEnvStep | DocCommandStep)[] {
  const steps: (DocEnvStep | DocCommandStep)[] = [];
  let last: DocCommandStep | undefined;
  for (const { code, comment, line } of logicalLines(body, firstLine)) {
    if (code === '') {
      const expected = expectation(comment);
      if (expected === undefined) continue;
      if (last === undefined) {
        problems.push(`${file}:${line}: "# → ${comment.slice(1).trim()}" has no command above it`);
      } else if ('exitCode' in expected) last.expect.exitCode = expected.exitCode;
      else last.expect.output.push(expected.output);
      continue;
    }
    const assignments = assignmentLine(code);
    if (assignments !== undefined) {
      steps.push({ kind: 'env', file, line, ...assignments });
      last = undefined;
      continue;
    }
    last = { kind: 'command', file, line, command: code, expect: { exitCode: 0, output: [] } };
    steps.push(last);
  }
  return steps;
}

/** `console` blocks: `$ ` lines are commands, the lines under one are output it must print. */
function consoleSteps(
  body: readonly string[],
  file: string,
  firstLine: number,
  problems: string[],
): DocCommandStep[] {
  const steps: DocCommandStep[] = [];
  body.forEach((text, k) => {
    const line = firstLine + k;
    if (text.startsWith('$ ')) {
      steps.push({
        kind: 'command',
        file,
        line,
        command: text.slice(2).trim(),
        expect: { exitCode: 0, output: [] },
      });
    } else if (text.trim() !== '') {
      const last = steps.at(-1);
      if (last === undefined) problems.push(`${file}:${line}: output with no "$ " command above it`);
      else last.expect.output.push(text.trim());
    }
  });
  return steps;
}

/** A pattern for a documented text in which `…` stands for anything. */
export function docPattern(text: string): RegExp {
  const parts = text.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(parts.join('[\\s\\S]*?'));
}
