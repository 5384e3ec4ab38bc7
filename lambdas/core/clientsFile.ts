import {
  type Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import type * as z from 'zod';
import { type ClientSpec, ClientSpecSchema, clientSpecKey } from './clientSpec.js';
import { RotatorError } from './errors.js';

/*
 * A clients file (`rotator apply -f clients.yaml|json`): the registry's desired state, parsed from
 * its text and validated entry by entry. Every problem carries its line, so an operator fixing a
 * file of thousands of entries goes straight to each one. JSON is read as YAML (its flow syntax),
 * so both get the same lines and the same messages.
 */

/** One validated entry, where it is in the file. */
export interface ClientsFileEntry {
  readonly spec: ClientSpec;
  /** 1-based line of the entry (its first key in YAML, its `{` in JSON). */
  readonly line: number;
  /** Its position in the `clients` list. */
  readonly index: number;
}

export interface ParsedClientsFile {
  readonly entries: readonly ClientsFileEntry[];
  /** Lines for the operator, e.g. that legacy deployment-config keys were ignored. */
  readonly notes: readonly string[];
}

/** Every problem of a clients file, each `<source>:<line>: <path>: <message>`; nothing is applied when there is one. */
export class ClientsFileError extends RotatorError {
  public readonly problems: readonly string[];

  public constructor(source: string, problems: readonly string[], options?: ErrorOptions) {
    super(`Invalid clients file ${source}:\n- ${problems.join('\n- ')}`, options);
    this.name = 'ClientsFileError';
    this.problems = problems;
  }
}

/** The most entries a clients file may list. */
export const MAX_CLIENTS_FILE_ENTRIES = 20_000;

/** The most problems reported one by one; the rest are counted. */
const MAX_PROBLEMS = 200;
/** The longest key or value of the file quoted in a message. */
const MAX_QUOTED = 80;
/** The longest message (zod's and yaml's may quote the file). */
const MAX_MESSAGE = 200;
/** Aliases one entry may expand (yaml's guard against "billion laughs"). */
const MAX_ALIAS_COUNT = 100;

/** Top-level keys of a deployment config (config/rotator.json): read past, so it can be applied as is. */
const DEPLOYMENT_CONFIG_KEYS: ReadonlySet<string> = new Set([
  'stytch',
  'sample',
  'secretPrefix',
  'leakScanners',
  'crossAccountConsumerAccounts',
  'secretsManagerWritesPerSecond',
]);

interface Problem {
  readonly line: number;
  /** `<path>: <message>` */
  readonly text: string;
}

/**
 * Parses and validates a clients file (YAML or JSON) from its text; `source` names it in messages.
 * Throws a `ClientsFileError` listing every problem, in line order.
 */
export function parseClientsFile(text: string, source: string): ParsedClientsFile {
  const reader = new ClientsFileReader(text, source);
  const { clients, clientsKeyLine, legacyKeys } = reader.readClientsList();
  const entries: ClientsFileEntry[] = [];
  clients.items.forEach((item, index) => {
    const entry = reader.readEntry({ item, line: reader.lineOfNode(item, clientsKeyLine), index });
    if (entry !== undefined) entries.push(entry);
  });
  reader.failOnProblems();

  const notes =
    legacyKeys.length === 0
      ? []
      : [
          `${source}: a deployment config: its clients are read, its other settings (${legacyKeys.join(', ')}) stay in the deployment config`,
        ];
  return { entries, notes };
}

/** One item of the `clients` list, being read. */
interface EntryAt {
  readonly item: unknown;
  /** Its line (its first key in YAML, its `{` in JSON). */
  readonly line: number;
  /** Its position in the `clients` list. */
  readonly index: number;
}

/** The `clients` list of a file, where its key is, and the deployment-config keys read past. */
interface ClientsList {
  readonly clients: YAMLSeq;
  readonly clientsKeyLine: number;
  readonly legacyKeys: readonly string[];
}

/** One clients file being read: its document, its lines, and the problems found so far. */
class ClientsFileReader {
  private readonly lineCounter = new LineCounter();
  private readonly doc: Document.Parsed;
  private readonly problems: Problem[] = [];
  /** Registry key → line of the earlier entry's name (or client id). */
  private readonly keyLines = new Map<string, number>();
  /** Client id → line of the earlier entry's client id. */
  private readonly clientIdLines = new Map<string, number>();

  public constructor(
    text: string,
    private readonly source: string,
  ) {
    this.doc = parseDocument(text, {
      lineCounter: this.lineCounter,
      prettyErrors: false,
      logLevel: 'silent',
      uniqueKeys: true,
    });
  }

  /** Throws the problems found so far. */
  public fail(): never {
    throw new ClientsFileError(this.source, formatProblems(this.problems, this.source));
  }

  /** Throws when a problem was found. */
  public failOnProblems(): void {
    if (this.problems.length > 0) this.fail();
  }

  public lineOfNode(node: unknown, fallback: number): number {
    return isNode(node) && node.range ? this.lineAt(node.range[0]) : fallback;
  }

  /**
   * The file's `clients` list, after its syntax, its root and the list itself are checked: throws
   * when any of them is wrong (an unknown root key is a problem, thrown with the entries' ones).
   */
  public readClientsList(): ClientsList {
    const { root, rootLine } = this.readRoot();

    let clientsPair: { key: unknown; value: unknown } | undefined;
    const legacyKeys: string[] = [];
    for (const pair of root.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (key === 'clients') {
        clientsPair = pair;
      } else if (DEPLOYMENT_CONFIG_KEYS.has(key)) {
        legacyKeys.push(key);
      } else {
        this.problems.push({
          line: this.lineOfNode(pair.key, rootLine),
          text: `${formatPath([key])}: unknown key (a clients file has "clients" only)`,
        });
      }
    }

    if (clientsPair === undefined) {
      this.problems.push({ line: rootLine, text: 'clients: missing (expected a list of clients)' });
      this.fail();
    }
    const clientsKeyLine = this.lineOfNode(clientsPair.key, rootLine);
    const clients = isAlias(clientsPair.value) ? clientsPair.value.resolve(this.doc) : clientsPair.value;
    if (!isSeq(clients)) {
      this.problems.push({
        line: clientsKeyLine,
        text: `clients: expected a list of clients, got ${describeNode(clients)}`,
      });
      this.fail();
    }
    if (clients.items.length > MAX_CLIENTS_FILE_ENTRIES) {
      this.problems.push({
        line: clientsKeyLine,
        text: `clients: lists ${clients.items.length} entries, at most ${MAX_CLIENTS_FILE_ENTRIES}`,
      });
      this.fail();
    }
    return { clients, clientsKeyLine, legacyKeys };
  }

  /**
   * One entry, checked against the schema and for repeats of an earlier one: the entry when it is
   * valid, `undefined` (with its problems recorded) when it is not.
   */
  public readEntry(entry: EntryAt): ClientsFileEntry | undefined {
    let value: unknown;
    try {
      value = isNode(entry.item) ? entry.item.toJS(this.doc, { maxAliasCount: MAX_ALIAS_COUNT }) : entry.item;
    } catch (error) {
      this.problems.push({
        line: entry.line,
        text: `${entryPath(entry, [])}: ${oneLine((error as Error).message, MAX_MESSAGE)}`,
      });
      return undefined;
    }

    const { spec, badFields } = this.checkSchema(entry, value);
    this.checkRepeats(entry, value, badFields);
    return spec === undefined ? undefined : { spec, line: entry.line, index: entry.index };
  }

  private lineAt(offset: number): number {
    return this.lineCounter.linePos(offset).line;
  }

  /** The root mapping and its line; throws on a syntax error, an empty file or a root of another kind. */
  private readRoot(): { root: YAMLMap; rootLine: number } {
    if (this.doc.errors.length > 0) {
      for (const error of this.doc.errors) {
        this.problems.push({
          line: this.lineAt(error.pos[0]),
          text: `(syntax): ${oneLine(error.message, MAX_MESSAGE)}`,
        });
      }
      this.fail();
    }

    const root = this.doc.contents;
    if (root === null) {
      this.problems.push({
        line: 1,
        text: '(root): the file is empty (expected a mapping with a "clients" list)',
      });
      this.fail();
    }
    if (!isMap(root)) {
      this.problems.push({
        line: this.lineOfNode(root, 1),
        text: `(root): expected a mapping with a "clients" list, got ${describeNode(root)}`,
      });
      this.fail();
    }
    return { root, rootLine: this.lineOfNode(root, 1) };
  }

  /** The entry's spec when `value` passes the schema; else its problems, and the top-level fields they are on. */
  private checkSchema(
    entry: EntryAt,
    value: unknown,
  ): { spec: ClientSpec | undefined; badFields: ReadonlySet<PropertyKey> } {
    const result = ClientSpecSchema.safeParse(value);
    const badFields = new Set<PropertyKey>();
    if (result.success) {
      return { spec: { ...result.data, name: clientSpecKey(result.data) }, badFields };
    }
    for (const issue of result.error.issues) {
      if (issue.path.length > 0) badFields.add(issue.path[0] as PropertyKey);
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          this.problems.push({
            line: this.lineOfPath(entry, [...issue.path, key], true),
            text: `${entryPath(entry, [...issue.path, key])}: unknown key`,
          });
        }
      } else {
        this.problems.push({
          line: this.lineOfPath(entry, issue.path),
          text: `${entryPath(entry, issue.path)}: ${describeIssue(issue)}`,
        });
      }
    }
    return { spec: undefined, badFields };
  }

  /**
   * Repeats, checked on an invalid entry too (its name or id, when those are fine), so one pass
   * over the file shows them all.
   */
  private checkRepeats(entry: EntryAt, value: unknown, badFields: ReadonlySet<PropertyKey>): void {
    const field = (key: 'name' | 'clientId'): string | undefined => {
      if (badFields.has(key) || typeof value !== 'object' || value === null) return undefined;
      const raw = (value as Record<string, unknown>)[key];
      return typeof raw === 'string' ? raw : undefined;
    };
    const name = field('name');
    const clientId = field('clientId');
    const keyField = name !== undefined ? 'name' : 'clientId';
    const key = name ?? clientId;
    let keyRepeated = false;
    if (key !== undefined) {
      const line = this.lineOfPath(entry, [keyField]);
      const earlier = this.keyLines.get(key);
      if (earlier === undefined) {
        this.keyLines.set(key, line);
      } else {
        keyRepeated = true;
        this.problems.push({
          line,
          text: `${entryPath(entry, [keyField])}: ${quote(key)} is already listed at line ${earlier}`,
        });
      }
    }
    if (clientId !== undefined) {
      const line = this.lineOfPath(entry, ['clientId']);
      const earlier = this.clientIdLines.get(clientId);
      if (earlier === undefined) {
        this.clientIdLines.set(clientId, line);
      } else if (!(keyRepeated && keyField === 'clientId')) {
        this.problems.push({
          line,
          text: `${entryPath(entry, ['clientId'])}: ${quote(clientId)} is already listed at line ${earlier}`,
        });
      }
    }
  }

  /**
   * The line of the deepest node on `path` (from an entry) that the file has: a missing key's
   * parent, a default's object. A collection reached by a key is on its key's line (the line
   * `schedule:` is on, not its first child's); `atKey` gives the line of the last key itself.
   */
  private lineOfPath(entry: EntryAt, path: readonly PropertyKey[], atKey = false): number {
    let node = entry.item;
    let line = entry.line;
    for (const [step, segment] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(segment),
        );
        if (pair === undefined) break;
        const keyLine = this.lineOfNode(pair.key, line);
        const value = pair.value;
        if (atKey && step === path.length - 1) return keyLine;
        const valueHasText = isScalar(value) && value.range != null && value.range[1] > value.range[0];
        line = valueHasText ? this.lineOfNode(value, keyLine) : keyLine;
        node = value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        line = this.lineOfNode(item, line);
        node = item;
      } else {
        break;
      }
    }
    return line;
  }
}

/** `path` within the entry, from the file's root: `clients[3].schedule.timeZone`. */
function entryPath(entry: EntryAt, path: readonly PropertyKey[]): string {
  return formatPath(['clients', entry.index, ...path]);
}

/** The problems as `<source>:<line>: <path>: <message>`, in line order, at most MAX_PROBLEMS of them. */
function formatProblems(problems: readonly Problem[], source: string): string[] {
  // Array.prototype.sort is stable: problems on one line keep the order they were found in.
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  const lines = sorted.slice(0, MAX_PROBLEMS).map((problem) => `${source}:${problem.line}: ${problem.text}`);
  if (sorted.length > MAX_PROBLEMS) lines.push(`… and ${sorted.length - MAX_PROBLEMS} more problems`);
  return lines;
}

/**
 * One zod issue as a message that reads as a fix (the house style of DeploymentConfig's
 * describeIssue): zod's generic prefixes go, and a missing field says what it expects.
 */
function describeIssue(issue: z.core.$ZodIssue): string {
  const message =
    issue.code === 'invalid_type' && /received undefined$/.test(issue.message)
      ? `missing (expected ${issue.expected})`
      : issue.message.replace(/^Invalid (input|option): /, '');
  // Custom messages may quote the value (`unknown time zone "…"`): bound it and keep it on one line.
  return oneLine(message, MAX_MESSAGE);
}

/** What a node that should have been a collection is, for a message. */
function describeNode(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isAlias(node)) return 'an alias';
  if (isScalar(node)) {
    if (node.value === null || node.value === undefined) return 'nothing';
    return `${typeof node.value === 'string' ? 'a string' : `a ${typeof node.value}`} (${quote(String(node.value))})`;
  }
  return 'nothing';
}

/** `clients[3].schedule.timeZone`; a key that is not a plain word is quoted (`clients[3]["a b"]`). */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((key, index) => {
      if (typeof key === 'number') return `[${key}]`;
      const text = String(key);
      if (PLAIN_KEY.test(text)) return `${index === 0 ? '' : '.'}${text}`;
      return `[${quote(text)}]`;
    })
    .join('');
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]{0,79}$/;

/**
 * Characters that must not reach a terminal from a file: C0 and C1 controls (escape sequences,
 * carriage returns that overwrite a line) and the bidirectional overrides that reorder what it shows.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** A key or value of the file, quoted for a message: at most MAX_QUOTED characters, escaped. */
function quote(value: string): string {
  return JSON.stringify(cut(value, MAX_QUOTED)).replace(
    UNSAFE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A message on one line, at most `max` characters, with nothing a terminal would act on. */
function oneLine(text: string, max: number): string {
  return cut(text, max).replace(UNSAFE, (char) => (/[\t\n\r]/.test(char) ? ' ' : '\uFFFD'));
}

/** `text` cut to `max` characters (not inside a surrogate pair), with `…` when it was longer. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}
