import { describe, expect, it } from 'vitest';
import { forTerminal, jsonLine } from '#cli/terminalText.js';

describe('Function: forTerminal', () => {
  it.each([
    ['an escape sequence', 'a\u001b[2Jb', 'a\\x1b[2Jb'],
    ['a carriage return and a bell', 'ok\rforged\u0007', 'ok\\rforged\\x07'],
    ['newlines (no forged line)', 'one\nrotator: two\r\n', 'one\\nrotator: two'],
    ['NUL and DEL', 'a\u0000b\u007f', 'a\\x00b\\x7f'],
    ['a C1 control (8-bit CSI)', 'x\u009b31m', 'x\\x9b31m'],
    ['bidi overrides and isolates', '\u202aa\u202eb\u2066c\u2069', '\\u202aa\\u202eb\\u2066c\\u2069'],
    ['LRM, zero-width space and the line separator', 'a\u200eb\u200bc\u2028d', 'a\\u200eb\\u200bc\\u2028d'],
    ['an astral format character', 'tag\u{e0041}', 'tag\\u{e0041}'],
    ['a lone surrogate', 'x\ud800y', 'x\\ud800y'],
    ['a tab', 'a\tb', 'a\\tb'],
  ])('escapes %s visibly', (_, text, expected) => {
    // Act
    const rendered = forTerminal(text);

    // Assess
    expect(rendered).toBe(expected);
  });

  it('keeps printable text, accents and emoji as they are', () => {
    // Act
    const rendered = forTerminal('  café ✓ 🚀 github:acme/app#42  ');

    // Assess
    expect(rendered).toBe('café ✓ 🚀 github:acme/app#42');
  });

  it('bounds the length with an ellipsis, never cutting an escape in two', () => {
    // Prepare
    const text = `${'a'.repeat(8)}\u001b[31m${'b'.repeat(20)}`;

    // Act
    const rendered = forTerminal(text, 10);
    const exact = forTerminal('abcdefghij', 10);

    // Assess
    expect(rendered).toBe(`${'a'.repeat(8)}…`);
    expect([...rendered]).toHaveLength(9);
    expect(exact).toBe('abcdefghij');
    expect(forTerminal('abcdefghijk', 10)).toBe('abcdefghi…');
  });
});

describe('Function: jsonLine', () => {
  it('writes C1, bidi, format and separator characters as JSON escapes, and parses back to the same value', () => {
    // Prepare
    const value = { detail: 'a\u009b31m\u202eb\u2028c\u200bd\u007fe\u001bf', tag: 'x\u{e0041}', n: 1 };

    // Act
    const line = jsonLine(value);

    // Assess
    expect(line.endsWith('}\n')).toBe(true);
    expect(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(line.slice(0, -1))).toBe(false);
    expect(line).toContain('\\u009b');
    expect(line).toContain('\\u202e');
    expect(line).toContain('\\udb40\\udc41');
    expect(JSON.parse(line)).toEqual(value);
  });
});
