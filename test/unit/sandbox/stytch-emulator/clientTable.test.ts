import { describe, expect, it } from 'vitest';
import { ClientTable } from '#sandbox/stytch-emulator/clientTable.js';
import { ApiError } from '#sandbox/stytch-emulator/errors.js';

function table(count: number): ClientTable<{ clientId: string }> {
  const rows = new ClientTable<{ clientId: string }>();
  for (let index = 1; index <= count; index += 1) rows.insert({ clientId: `c${index}` });
  return rows;
}

function ids(items: readonly { clientId: string }[]): string[] {
  return items.map((item) => item.clientId);
}

describe('Class: ClientTable', () => {
  it('pages in creation order with a cursor until next_cursor is null', () => {
    // Prepare
    const rows = table(5);

    // Act
    const first = rows.page(() => true, undefined, 2);
    const second = rows.page(() => true, first.nextCursor ?? undefined, 2);
    const third = rows.page(() => true, second.nextCursor ?? undefined, 2);

    // Assess
    expect(ids(first.items)).toEqual(['c1', 'c2']);
    expect(ids(second.items)).toEqual(['c3', 'c4']);
    expect(ids(third.items)).toEqual(['c5']);
    expect(third.nextCursor).toBeNull();
    expect([first.total, second.total, third.total]).toEqual([5, 5, 5]);
  });

  it('treats an empty cursor as the first page', () => {
    // Act
    const page = table(3).page(() => true, '', 10);

    // Assess
    expect(ids(page.items)).toEqual(['c1', 'c2', 'c3']);
    expect(page.nextCursor).toBeNull();
  });

  it('keeps a cursor valid when rows before or after it are deleted', () => {
    // Prepare
    const rows = table(4);
    const first = rows.page(() => true, undefined, 2);
    rows.delete('c1');
    rows.delete('c3');

    // Act
    const second = rows.page(() => true, first.nextCursor ?? undefined, 2);

    // Assess
    expect(ids(second.items)).toEqual(['c4']);
    expect(second.total).toBe(2);
  });

  it('counts and pages only matching rows', () => {
    // Act
    const page = table(6).page((row) => row.clientId !== 'c2', undefined, 3);

    // Assess
    expect(ids(page.items)).toEqual(['c1', 'c3', 'c4']);
    expect(page.total).toBe(5);
    expect(page.nextCursor).not.toBeNull();
  });

  it('answers 400 invalid_request_value for a cursor it did not issue', () => {
    // Act
    const act = () => table(1).page(() => true, 'not-a-cursor', 10);

    // Assess
    expect(act).toThrow(ApiError);
    expect(act).toThrow(/cursor/);
  });
});
