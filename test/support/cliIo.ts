import { Readable } from 'node:stream';
import type { CliIo, TextSink } from '#cli/io.js';

/** A TextSink that keeps what was written. */
export class BufferSink implements TextSink {
  public readonly chunks: string[] = [];
  public readonly isTTY = false;

  public write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }

  public get text(): string {
    return this.chunks.join('');
  }
}

/** An in-process CliIo: buffered stdout/stderr, a fixed env and an AbortController for "Ctrl-C". */
export function bufferedIo(
  env: Record<string, string | undefined> = {},
  stdin?: string,
): CliIo & {
  stdout: BufferSink;
  stderr: BufferSink;
  controller: AbortController;
} {
  const controller = new AbortController();
  return {
    stdout: new BufferSink(),
    stderr: new BufferSink(),
    env,
    signal: controller.signal,
    controller,
    ...(stdin === undefined ? {} : { stdin: Readable.from([stdin]) }),
  };
}
