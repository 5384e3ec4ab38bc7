/**
 * Text the CLI did not write itself (ledger fields, consumer report details, leak sources, AWS and
 * Stytch error messages) reaches an operator's terminal only through here. Printed raw, an escape
 * sequence rewrites the screen or hides a link, a carriage return or a newline forges a line of
 * `history`, and a bidi override shows a string in another order than it has.
 */

/**
 * Every character a terminal would act on or that changes how the text around it reads: C0 and C1
 * controls and DEL (Cc), format characters (Cf: the bidi embeddings, overrides and isolates
 * U+202A-U+202E and U+2066-U+2069, LRM/RLM, zero-width characters, the BOM), the line and paragraph
 * separators (Zl, Zp) and lone surrogates (Cs).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'gu');

/** How long one field may get on a line, unless the caller says otherwise. */
export const DEFAULT_FIELD_LENGTH = 300;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `\n`, `\x1b`, `\u202e`: the character written so that it is seen, not obeyed. */
function visible(character: string): string {
  const named = NAMED[character];
  if (named !== undefined) return named;
  const code = character.codePointAt(0) ?? 0;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

/**
 * `text` as one safe line for a terminal: every control, format and separator character escaped
 * visibly (`\x1b`, `\r`, `\n`, `\u202e`), surrounding whitespace trimmed, and at most `maxLength`
 * characters, the last an ellipsis when it was cut (never inside an escape).
 */
export function forTerminal(text: string, maxLength: number = DEFAULT_FIELD_LENGTH): string {
  const pieces: string[] = [];
  let length = 0;
  for (const character of text.trim()) {
    const piece = UNPRINTABLE.test(character) ? visible(character) : character;
    pieces.push(piece);
    length += piece.length;
  }
  if (length <= maxLength) return pieces.join('');
  let kept = '';
  for (const piece of pieces) {
    if (kept.length + piece.length > maxLength - 1) break;
    kept += piece;
  }
  return `${kept}…`;
}

/**
 * `value` as one line of JSON for stdout. JSON.stringify escapes C0 controls and lone surrogates
 * but leaves DEL, C1 controls, bidi and other format characters and U+2028/U+2029 raw; those are
 * written as `\u` escapes too, so the document reads the same to a parser and cannot act on a
 * terminal. (They only ever occur inside strings: JSON's own syntax is ASCII.)
 */
export function jsonLine(value: unknown): string {
  const json = JSON.stringify(value).replace(UNPRINTABLE_ALL, (character) =>
    Array.from(
      { length: character.length },
      (_, index) => `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`,
    ).join(''),
  );
  return `${json}\n`;
}
