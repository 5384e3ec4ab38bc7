import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { createM2MCredentials, type M2MCredentials } from '#consumer/index.js';
import type { RotatorEvent } from '#core/events.js';
import { awsClientConfig, Sandbox } from '../sandbox/world/Sandbox.js';
import { type SandboxConfig, sampleSandboxConfig } from '../sandbox/world/sandboxConfig.js';

// What both benchmarks share: a sandbox with one managed client whose rotations wait for the
// consumers the benchmark runs, a driver for back-to-back manual rotations, and small helpers.

/** The sample config's client the benchmarks rotate. */
export const BENCH_CLIENT = 'm2m-client-test-billing-worker';
/**
 * The manual-rotation deadline: only reached when a consumer never reports (a bug), and then the
 * rotation is cancelled (fail-safe) instead of the run hanging for the default 1800 s.
 */
export const ROTATION_DEADLINE_SECONDS = 20;

/** What a benchmark gets from the runner. */
export interface BenchContext {
  /** A progress line (stderr). */
  readonly say: (line: string) => void;
  /** Aborted by SIGINT / SIGTERM: the benchmark unwinds and the sandbox is stopped. */
  readonly signal: AbortSignal;
}

/** A target a benchmark checks: `ok` false makes the run exit 1. */
export interface Target {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** A benchmark's outcome: the JSON document, the table rows and the targets. */
export interface BenchResult {
  readonly document: unknown;
  readonly rows: readonly (readonly [string, string])[];
  readonly targets: readonly Target[];
}

/** The sample config narrowed to {@link BENCH_CLIENT}, waiting for `expectedConsumers`, with a short manual deadline. */
export function benchConfig(expectedConsumers: readonly string[]): SandboxConfig {
  const sample = sampleSandboxConfig();
  const client = sample.clients.find((candidate) => candidate.clientId === BENCH_CLIENT);
  if (client === undefined) throw new Error(`the sample config no longer has ${BENCH_CLIENT}`);
  return {
    ...sample,
    clients: [
      {
        ...client,
        policy: {
          ...client.policy,
          expectedConsumers: [...expectedConsumers],
          manual: { ...client.policy.manual, deadlineSeconds: ROTATION_DEADLINE_SECONDS },
        },
      },
    ],
  };
}

/** Fans the rotator's events out to whoever listens (the consumers are made after the sandbox starts). */
export class EventFanOut {
  readonly #listeners = new Set<(event: RotatorEvent) => void>();

  public readonly publish = (event: RotatorEvent): void => {
    for (const listener of this.#listeners) listener(event);
  };

  public listen(listener: (event: RotatorEvent) => void): void {
    this.#listeners.add(listener);
  }
}

/** A library consumer as a service runs it: subscribed to the rotator's events, polling as a backstop. */
export interface SubscribedConsumer {
  readonly credentials: M2MCredentials;
  /** Rotator events whose handling threw. */
  eventErrors(): number;
  /** Waits for the event handling in flight, then closes the credentials. */
  close(): Promise<void>;
}

/**
 * One credentials object for `secretId` that renews before every request (skew ≥ the 1 h token
 * lifetime, so each call is a real token request), polls every 200 ms and handles every event. It
 * runs as consumer `consumerName` does in AWS: with that consumer's own access key (an IAM user
 * tagged `rotator-consumer=<name>`), the only key the bus takes its health reports from, and it
 * reports with the library's default source, `consumerSource(consumerName)`.
 */
export async function subscribedConsumer(
  sandbox: Sandbox,
  secretId: string,
  consumerName: string,
  events: EventFanOut,
): Promise<SubscribedConsumer> {
  const clientConfig = awsClientConfig(sandbox.awsEndpoint, await sandbox.consumerCredentials(consumerName));
  const secretsManager = new SecretsManagerClient(clientConfig);
  const eventBridge = new EventBridgeClient(clientConfig);
  const credentials = createM2MCredentials({
    secretId,
    consumerName,
    secretsManager,
    eventBridge,
    eventBusName: sandbox.eventBusName,
    tokenSkewSeconds: 86_400,
    pollIntervalMs: 200,
  });
  const inFlight = new Set<Promise<unknown>>();
  let errors = 0;
  events.listen((event) => {
    const work = credentials.onRotatorEvent(event).catch(() => {
      errors += 1;
    });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  });
  return {
    credentials,
    eventErrors: () => errors,
    close: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await credentials.close();
      secretsManager.destroy();
      eventBridge.destroy();
    },
  };
}

/** Starts the sandbox for a benchmark, runs `body`, and always stops the sandbox. */
export async function withSandbox<T>(
  context: BenchContext,
  options: { readonly expectedConsumers: readonly string[]; readonly events: EventFanOut },
  body: (sandbox: Sandbox, clientId: string, secretId: string) => Promise<T>,
): Promise<T> {
  const config = benchConfig(options.expectedConsumers);
  context.say('starting the sandbox: moto_server, the Stytch emulator, the state machine from cdk synth');
  const sandbox = await Sandbox.start({ config, say: context.say, onRotatorEvent: options.events.publish });
  try {
    context.signal.throwIfAborted();
    const clientId = sandbox.clientIdMap.get(BENCH_CLIENT) ?? BENCH_CLIENT;
    return await body(sandbox, clientId, `${config.secretPrefix}/${clientId}`);
  } finally {
    context.say('stopping the sandbox');
    await sandbox.stop();
  }
}

/** One rotation's end, as the driver saw it. */
export interface RotationOutcome {
  readonly status: string;
  /** The last outcome event of the client: `Rotation Completed` / `Cancelled` / `Failed`. */
  readonly outcome: string;
  readonly ms: number;
}

/**
 * Runs `count` manual rotations of `clientId`, each started when the one before has ended (and the
 * gateway has delivered every event it routed). Stops early when `signal` aborts or `deadline`
 * (epoch ms) passes.
 */
export async function rotateBackToBack(
  sandbox: Sandbox,
  clientId: string,
  count: number,
  options: { readonly signal: AbortSignal; readonly say: (line: string) => void; readonly deadline: number },
): Promise<RotationOutcome[]> {
  const outcomes: RotationOutcome[] = [];
  for (let index = 1; index <= count; index += 1) {
    if (options.signal.aborted || Date.now() > options.deadline) break;
    const t0 = performance.now();
    const eventsBefore = sandbox.events.length;
    const started = await sandbox.aws.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: sandbox.executor.stateMachineArn,
        input: JSON.stringify({ clientId, trigger: 'manual' }),
      }),
    );
    const description = await abortable(
      sandbox.executor.waitForExecution(started.executionArn ?? ''),
      options.signal,
    );
    await sandbox.settle();
    const outcome =
      sandbox.events
        .slice(eventsBefore)
        .map((event) => event.detailType)
        .filter(
          (type) =>
            type === 'Rotation Completed' || type === 'Rotation Cancelled' || type === 'Rotation Failed',
        )
        .at(-1) ?? 'no outcome event';
    const ms = Math.round(performance.now() - t0);
    outcomes.push({ status: description.status ?? 'UNKNOWN', outcome, ms });
    options.say(`rotation ${index}/${count}: ${description.status} (${outcome}) in ${ms} ms`);
  }
  return outcomes;
}

/** "10 completed" or "8 completed, 1 Rotation Cancelled, …" (none ran: "no rotation ran"). */
export function summarizeOutcomes(outcomes: readonly RotationOutcome[]): string {
  if (outcomes.length === 0) return 'no rotation ran';
  const counts = new Map<string, number>();
  for (const { outcome } of outcomes) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  return [...counts]
    .map(([outcome, n]) => `${n} ${outcome === 'Rotation Completed' ? 'completed' : outcome}`)
    .join(', ');
}

/** `promise`, or a rejection as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lets timers and I/O run between iterations of a loop whose awaits might all resolve at once. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Counts failures by a short, secret-free description, for the report. */
export class FailureTally {
  public count = 0;
  readonly #kinds = new Map<string, number>();

  public add(kind: string): void {
    this.count += 1;
    this.#kinds.set(kind, (this.#kinds.get(kind) ?? 0) + 1);
  }

  public kinds(): Record<string, number> {
    return Object.fromEntries(this.#kinds);
  }
}

/** A secret-free description of an error: a token refusal by status and OAuth error, anything else by name. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return 'non-error thrown';
  const { status, errorType } = error as { status?: unknown; errorType?: unknown };
  if (typeof status === 'number') {
    return `${error.name} HTTP ${status}${typeof errorType === 'string' ? ` ${errorType}` : ''}`;
  }
  return error.name;
}

/** A loop that makes one request every `periodMs` (or back to back when a request takes longer). */
export class RequestLoop {
  public requests = 0;
  public readonly failures = new FailureTally();
  #running = true;
  readonly #done: Promise<void>;

  public constructor(periodMs: number, request: () => Promise<unknown>) {
    this.#done = (async () => {
      while (this.#running) {
        const t0 = performance.now();
        this.requests += 1;
        try {
          await request();
        } catch (error) {
          this.failures.add(describeFailure(error));
        }
        const rest = periodMs - (performance.now() - t0);
        if (rest > 0) await sleep(rest);
        else await yieldToEventLoop();
      }
    })();
  }

  /** Stops after the request in flight; resolves when it has ended. */
  public stop(): Promise<void> {
    this.#running = false;
    return this.#done;
  }
}
