import { performance } from 'node:perf_hooks';
import { StytchApiError, StytchClient } from '#adapters/stytch/index.js';
import { type CliIo, untilAborted } from '#cli/io.js';
import type { Secret } from '#core/secret.js';
import { StytchEmulator } from './stytch-emulator/index.js';

/** Options of the emulator demo (`npm start`). */
export interface EmulatorDemoOptions {
  /** Print one JSON document on stdout; progress goes to stderr. */
  readonly json: boolean;
  /** Keep the emulator running after the demo until the signal aborts. */
  readonly keep: boolean;
}

interface StepResult {
  readonly name: string;
  readonly ms: number;
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Walks one M2M client through a completed and a cancelled rotation against the emulator and
 * checks Stytch's semantics at each step. Returns the exit code: 0 when every check held.
 */
export async function runEmulatorDemo(options: EmulatorDemoOptions, io: CliIo): Promise<number> {
  const progress = options.json ? io.stderr : io.stdout;
  const printed: string[] = [];
  const say = (line: string): void => {
    printed.push(line);
    progress.write(`${line}\n`);
  };

  const emulator = await StytchEmulator.start();
  const stytch = new StytchClient({
    projectId: emulator.projectId,
    secret: emulator.projectSecret,
    baseUrl: emulator.url,
  });
  const secrets: Secret[] = [];
  const steps: StepResult[] = [];
  const startedAt = performance.now();

  async function step(name: string, run: () => Promise<string>): Promise<void> {
    const t0 = performance.now();
    let ok = true;
    let detail: string;
    try {
      detail = await run();
    } catch (error) {
      ok = false;
      detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    const result = { name, ms: Math.round(performance.now() - t0), ok, detail };
    steps.push(result);
    const elapsed = `${Math.round(performance.now() - startedAt)} ms`.padStart(8);
    say(`${elapsed}  ${ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(28)} ${detail}`);
  }

  /** Mints a token and reports whether Stytch accepted the secret. */
  async function authenticates(clientId: string, secret: Secret): Promise<boolean> {
    try {
      const token = await stytch.token({ clientId, clientSecret: secret });
      await stytch.verifyToken(token.accessToken);
      return true;
    } catch (error) {
      if (error instanceof StytchApiError && error.errorType === 'invalid_client') return false;
      throw error;
    }
  }

  function expect(condition: boolean, message: string): void {
    if (!condition) throw new Error(message);
  }

  try {
    say(`Stytch emulator on ${emulator.url} (project ${emulator.projectId})`);
    let clientId = '';
    let current: Secret | undefined;
    let next: Secret | undefined;

    await step('register-service', async () => {
      const created = await stytch.m2m.create({
        scopes: ['read:invoices', 'write:invoices'],
        clientName: 'billing-worker',
      });
      clientId = created.client.clientId;
      current = created.clientSecret;
      secrets.push(current);
      return `${clientId}, secret …${current.lastFour}`;
    });
    const requireSecret = (secret: Secret | undefined): Secret => {
      if (!secret) throw new Error('an earlier step failed');
      return secret;
    };

    await step('mint-token', async () => {
      const token = await stytch.token({ clientId, clientSecret: requireSecret(current) });
      secrets.push(token.accessToken);
      const claims = await stytch.verifyToken(token.accessToken, { requiredScopes: ['read:invoices'] });
      return `scope "${token.scope.join(' ')}", expires ${token.expiresAt.toISOString()}, verified sub ${claims.clientId}`;
    });

    await step('rotate-start', async () => {
      const started = await stytch.m2m.rotateStart(clientId);
      next = started.nextClientSecret;
      secrets.push(next);
      return `next secret …${next.lastFour} (shown once)`;
    });

    await step('both-secrets-authenticate', async () => {
      const [old, fresh] = await Promise.all([
        authenticates(clientId, requireSecret(current)),
        authenticates(clientId, requireSecret(next)),
      ]);
      expect(old && fresh, `current=${old} next=${fresh}`);
      return 'current and next both mint tokens';
    });

    await step('rotate-complete', async () => {
      const client = await stytch.m2m.rotateComplete(clientId);
      expect(client.clientSecretLastFour === requireSecret(next).lastFour, 'last four did not move');
      return `current secret is now …${client.clientSecretLastFour}`;
    });

    await step('old-secret-rejected', async () => {
      expect(!(await authenticates(clientId, requireSecret(current))), 'the old secret still works');
      expect(await authenticates(clientId, requireSecret(next)), 'the new secret does not work');
      current = next;
      return 'old secret → invalid_client; new secret works';
    });

    await step('rotate-start (to cancel)', async () => {
      const started = await stytch.m2m.rotateStart(clientId);
      next = started.nextClientSecret;
      secrets.push(next);
      return `next secret …${next.lastFour}`;
    });

    await step('rotate-cancel', async () => {
      await stytch.m2m.rotateCancel(clientId);
      expect(!(await authenticates(clientId, requireSecret(next))), 'the cancelled secret still works');
      expect(await authenticates(clientId, requireSecret(current)), 'the current secret stopped working');
      return 'next secret → invalid_client; current secret still works';
    });

    const captured = [JSON.stringify(emulator.requestLog()), JSON.stringify(steps), ...printed].join('\n');
    const secretHits = secrets.filter((secret) => captured.includes(secret.reveal())).length;
    const leakScan = { scannedBytes: Buffer.byteLength(captured), secretHits };
    const ok = steps.every((s) => s.ok) && secretHits === 0;
    say(
      `${ok ? 'All checks held' : 'Some checks FAILED'}: ${steps.length} steps; leak scan of ` +
        `${leakScan.scannedBytes} bytes found ${secretHits} secret values.`,
    );

    if (options.json) {
      const document = {
        emulator: { url: emulator.url, projectId: emulator.projectId },
        clientId,
        steps: steps.map(({ name, ms, ok }) => ({ name, ms, ok })),
        requests: emulator.requestLog().length,
        leakScan,
        ...(options.keep ? { endpoints: { stytch: emulator.url } } : {}),
      };
      io.stdout.write(`${JSON.stringify(document)}\n`);
    }

    if (options.keep) {
      progress.write(
        `Keeping the emulator running: ${emulator.url} project_id=${emulator.projectId} ` +
          `secret=${emulator.projectSecret} (Ctrl-C to stop)\n`,
      );
      await untilAborted(io.signal);
    }
    return ok ? 0 : 1;
  } finally {
    await stytch.close();
    await emulator.stop();
  }
}
