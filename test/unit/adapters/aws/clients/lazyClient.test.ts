import { describe, expect, it } from 'vitest';
import { lazyClient } from '#adapters/aws/clients/lazyClient.js';
import { onFirstUse } from '#adapters/aws/sdk/onFirstUse.js';

/** A stand-in SDK client: records what it was sent and whether it was closed. */
class RecordingClient {
  public readonly sent: unknown[] = [];
  public destroyed = false;
  public readonly region = 'us-east-1';

  public async send(command: unknown): Promise<string> {
    this.sent.push(command);
    return `answer to ${String(command)}`;
  }

  public destroy(): void {
    this.destroyed = true;
  }
}

/** A build that counts its calls and can be made to fail once. */
function countingBuild(options: { failFirst?: boolean } = {}) {
  const built: RecordingClient[] = [];
  let calls = 0;
  const build = async (): Promise<RecordingClient> => {
    calls += 1;
    if (options.failFirst === true && calls === 1) throw new Error('Cannot find package @aws-sdk/client-x');
    const client = new RecordingClient();
    built.push(client);
    return client;
  };
  return { build, built, calls: () => calls };
}

describe('Function: lazyClient', () => {
  it('builds nothing until the first send, then sends through the client it built', async () => {
    // Prepare
    const { build, built, calls } = countingBuild();
    const client = lazyClient(build);

    // Act
    const before = calls();
    const answer = await client.send('GetSecretValue' as never);

    // Assess
    expect(before).toBe(0);
    expect(answer).toBe('answer to GetSecretValue');
    expect(built).toHaveLength(1);
    expect(built[0]?.sent).toEqual(['GetSecretValue']);
  });

  it('builds once for concurrent first sends, and reuses that client afterwards', async () => {
    // Prepare
    const { build, built, calls } = countingBuild();
    const client = lazyClient(build);

    // Act
    await Promise.all([client.send('A' as never), client.send('B' as never)]);
    await client.send('C' as never);

    // Assess
    expect(calls()).toBe(1);
    expect(built[0]?.sent).toEqual(['A', 'B', 'C']);
  });

  it('tries the build again on the next send when it failed', async () => {
    // Prepare
    const { build, built } = countingBuild({ failFirst: true });
    const client = lazyClient(build);

    // Act
    const first = await client.send('A' as never).catch((error: unknown) => error);
    const second = await client.send('B' as never);

    // Assess
    expect(first).toBeInstanceOf(Error);
    expect(second).toBe('answer to B');
    expect(built).toHaveLength(1);
  });

  it('closes nothing before it is built, and the real client after', async () => {
    // Prepare
    const { build, built, calls } = countingBuild();
    const client = lazyClient(build);

    // Act
    client.destroy();
    const builtByDestroy = calls();
    await client.send('A' as never);
    client.destroy();

    // Assess
    expect(builtByDestroy).toBe(0);
    expect(built[0]?.destroyed).toBe(true);
  });

  it('answers every member of the real client once built, its methods bound to it', async () => {
    // Prepare
    const { build, built } = countingBuild();
    const client = lazyClient(build);

    // Act
    const regionBefore = client.region;
    await client.send('A' as never);
    const { send } = client;
    await send('B' as never);

    // Assess
    expect(regionBefore).toBeUndefined();
    expect(client.region).toBe('us-east-1');
    expect(built[0]?.sent).toEqual(['A', 'B']);
  });
});

describe('Function: onFirstUse', () => {
  it('loads once for every caller, and loads again after a failure', async () => {
    // Prepare
    let loads = 0;
    const load = onFirstUse(async () => {
      loads += 1;
      if (loads === 1) throw new Error('ERR_MODULE_NOT_FOUND');
      return { loaded: loads };
    });

    // Act
    const failed = await load().catch((error: unknown) => error);
    const [a, b] = await Promise.all([load(), load()]);
    const c = await load();

    // Assess
    expect(failed).toBeInstanceOf(Error);
    expect(loads).toBe(2);
    expect(a).toBe(b);
    expect(c).toBe(a);
  });

  it("gives a bundled CommonJS module's exports by name (a namespace holding only `default`)", async () => {
    // Prepare: what esbuild hands over for import() of an inlined CommonJS SDK package
    class DescribeSecretCommand {}
    const bundled = onFirstUse(async () => ({ default: { DescribeSecretCommand } }));
    const native = onFirstUse(async () => ({ default: { DescribeSecretCommand }, DescribeSecretCommand }));

    // Act
    const fromBundle = (await bundled()) as unknown as { DescribeSecretCommand?: unknown };
    const fromNode = await native();

    // Assess
    expect(fromBundle.DescribeSecretCommand).toBe(DescribeSecretCommand);
    expect(fromNode.DescribeSecretCommand).toBe(DescribeSecretCommand);
    expect(fromNode.default.DescribeSecretCommand).toBe(DescribeSecretCommand);
  });
});
