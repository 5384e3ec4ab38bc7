import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLedger } from '#adapters/aws/DynamoLedger.js';
import { SecretsManagerStore } from '#adapters/aws/SecretsManagerStore.js';
import { TASK_GONE_ERRORS } from '#adapters/aws/SfnTaskCallbacks.js';
import { isClientAuthRefusal, StytchApiError, StytchClient } from '#adapters/stytch/index.js';
import type { StepDeps } from '#core/deps.js';
import { RotatorError } from '#core/errors.js';
import { consumerSource, EVENT_SOURCES, type RotatorEvent } from '#core/events.js';
import { fingerprintedSecrets } from '#core/fingerprintedSecrets.js';
import type { ClientPolicy } from '#core/policy.js';
import type { TaskCallbackPort } from '#core/ports.js';
import type { RateBudgetSettings } from '#core/rateBudget.js';
import { Secret } from '#core/secret.js';
import type { LocalExecutor } from '#sandbox/localExecutor/index.js';
import { StytchEmulator, type StytchEmulatorOptions } from '#sandbox/stytch-emulator/index.js';
import { capturingLogger, observeStepDeps, worldCaptures } from '#sandbox/world/functionObservation.js';
import {
  bindFunctions,
  bindStep,
  STATE_MACHINE_TASKS,
  type StepName,
  stepDepsFromEnvironment,
} from '#sandbox/world/handlerBinding.js';
import { recordRegistration } from '#sandbox/world/sandboxClients.js';
import { withClients } from '#sandbox/world/sandboxConfig.js';
import { stepFunctionEnvironment } from '#sandbox/world/worldEnvironment.js';
import {
  createWorldResources,
  enrolClient,
  registerClient,
  WORLD_RESOURCE_NAMES,
} from '#sandbox/world/worldResources.js';
import { createWorldExecutor, enrolledConfig, synthesizeTemplate } from '#sandbox/world/worldStack.js';
import { ENV } from '#wiring/environment.js';
import { parseDeploymentConfig } from '../../../lib/config/DeploymentConfig.js';
import { RecordingMetrics } from '../../support/fakes.js';
import { MOTO_CREDENTIALS, type MotoServer, startMoto } from '../../support/moto.js';

/**
 * One workflow world per test file, built from the sandbox's own pieces (sandbox/world/): moto_server
 * (Secrets Manager, DynamoDB, EventBridge) with the sandbox's resources, the Stytch emulator, and
 * the state machine `cdk synth` produces, run by the local executor with each Lambda task bound to
 * the deployed handler code over the real adapters. What is the harness's own: no gateway (the
 * functions call moto directly and the rules' deliveries are made here), and crash injection.
 * Nothing here re-states the workflow.
 */

const NAMES = WORLD_RESOURCE_NAMES;
const PREFIX = 'stytch/m2m';

/** A managed client the world creates at the emulator and enrols in Secrets Manager. */
export interface WorldClient {
  /** The M2M client's id; for a Connected App, a label (Stytch chooses its id: see `World.ids`). */
  readonly clientId: string;
  /** @default 'm2m' */
  readonly kind?: 'm2m' | 'connected_app';
  readonly policy?: ClientPolicy;
}

export interface World {
  readonly emulator: StytchEmulator;
  readonly moto: MotoServer;
  readonly executor: LocalExecutor;
  readonly stytch: StytchClient;
  readonly deps: StepDeps;
  readonly events: RotatorEvent[];
  readonly logs: string[];
  /** Every secret value the world created (initial and rotated), for leak scans. */
  readonly secrets: Secret[];
  readonly template: unknown;
  /** The real client id of each WorldClient, by its `clientId` (the same for M2M clients). */
  readonly ids: Readonly<Record<string, string>>;
  /** Starts an execution and waits for its end; returns the description. */
  run(input: unknown): Promise<Awaited<ReturnType<LocalExecutor['waitForExecution']>>>;
  /**
   * Sends a consumer's health report through the health aggregator's handler, as EventBridge would:
   * with the consumer's own source unless `source` is given.
   */
  report(detail: Record<string, unknown>, source?: string): Promise<unknown>;
  /**
   * Sends a `Secret Leak Detected` event through the leak intake's handler, as EventBridge would:
   * from the operator's source unless the event names another.
   */
  leak(event: {
    readonly id: string;
    readonly source?: string;
    readonly detail: Record<string, unknown>;
  }): Promise<unknown>;
  /**
   * Whether the rule on Step Functions' status-change events delivers to the reconciler
   * (`false`: the delivery is lost, so the other recovery paths must do the work).
   */
  deliverExecutionEnds(deliver: boolean): void;
  /** Everything observable outside the secret store, as text: histories, events, logs, ledger, template. */
  captured(): Promise<string>;
  /**
   * The invariants every test ends with: AWSCURRENT authenticates; Stytch has a rotation pending
   * exactly when AWSPENDING exists (and it is the same secret); AWSPREVIOUS no longer
   * authenticates; and no secret value appears in anything captured. Throws on the first breach.
   */
  assertInvariants(clientIds: readonly string[]): Promise<void>;
  /**
   * Arms a one-shot crash: the `nth` call (1-based, counted from now) of `port.method` made by a
   * handler (of `point.step`, if given) does its work, and then that Lambda dies as it does in
   * production: it makes no further call, and whatever its own code would have made of the error,
   * its invoker (Step Functions, or Lambda's asynchronous retries) sees `point.error`
   * (`Sandbox.Timedout` unless given), never a retryable error of ours. Calls the test itself
   * makes (through `deps`) are not counted.
   */
  crashAfter(point: CrashPoint): void;
  /**
   * Resolves once every execution reconciler run that executions ending FAILED, ABORTED or
   * TIMED_OUT started (as the rule on Step Functions' status-change events does) has finished.
   */
  reconciled(): Promise<void>;
  /** The reconciler runs that failed every attempt (on AWS: the on-failure destination). */
  readonly asyncFailures: string[];
  /** Whether the armed crash has happened. */
  crashed(): boolean;
  stop(): Promise<void>;
}

/** How Step Functions reports a Lambda that died: timed out, its container gone, the task timed out. */
export const CRASH_ERROR_NAMES = [
  'Sandbox.Timedout',
  'Runtime.ExitError',
  'Lambda.Unknown',
  'States.Timeout',
] as const;
export type CrashErrorName = (typeof CRASH_ERROR_NAMES)[number];

/** A place to crash: a port method of the steps' deps. */
export interface CrashPoint {
  /**
   * `secrets` is Secrets Manager itself and `ledger` includes the fingerprint index writes: the
   * store wrapper that indexes what it stores is composed over them, so a Lambda can die between
   * storing a secret and indexing it.
   */
  readonly port: 'stytch' | 'secrets' | 'ledger' | 'events' | 'executions' | 'workflow' | 'callbacks';
  readonly method: string;
  /** Counts every call, answered or refused (a Lambda can die right after a refusal too). @default 1 */
  readonly nth?: number;
  /** Only calls made by this function count. @default - any function's */
  readonly step?: StepName;
  /** What Step Functions sees. @default 'Sandbox.Timedout' */
  readonly error?: CrashErrorName;
}

/** One row of the crash table: where a function dies, with what, and what it converges to. */
export interface CrashCase<Setting extends string, Step extends StepName> {
  readonly setting: Setting;
  readonly step: Step;
  /** The call the function dies after, as the crash table words it. */
  readonly after: string;
  readonly point: CrashPoint;
  /** The state it converges to, as the crash table words it. */
  readonly converges: string;
}

/** A crash point: the call (`port.method`, `nth` of them), what it did, and the error the Lambda dies with. */
export type CrashCall<Error extends CrashErrorName = CrashErrorName> = readonly [
  call: `${CrashPoint['port']}.${string}`,
  what: string,
  error: Error,
  nth?: number,
];

/**
 * A builder of crash-table rows for one suite: the crash points of one setting and step, each
 * converging as `converges` says for its setting; `nth` counts that function's calls of the
 * method (answered or refused).
 */
export function crashCases<Setting extends string, Step extends StepName, Error extends CrashErrorName>(
  converges: Readonly<Record<Setting, string>>,
) {
  return (setting: Setting, step: Step, calls: readonly CrashCall<Error>[]): CrashCase<Setting, Step>[] =>
    calls.map(([call, what, error, nth]) => {
      const [port, method] = call.split('.') as [CrashPoint['port'], string];
      return {
        setting,
        step,
        after: `\`${call}\`${nth === undefined ? '' : ` #${nth}`}: ${what}`,
        point: { port, method, step, error, ...(nth === undefined ? {} : { nth }) },
        converges: converges[setting],
      };
    });
}

/**
 * A crash after a side effect, as Step Functions sees a Lambda that died: an error of AWS's own
 * name, not one of ours marked retryable (the handler wrapper passes it through unchanged).
 */
class SimulatedCrashError extends RotatorError {
  public constructor(point: CrashPoint) {
    super(`simulated crash after ${point.port}.${point.method}`);
    this.name = point.error ?? 'Sandbox.Timedout';
  }
}

/** One invocation of a deployed function, and the crash that killed it, if one did. */
interface Invocation {
  readonly step: StepName;
  crash?: SimulatedCrashError;
}

/** Builds a world with `clients` enrolled. Call `stop()` in afterAll. */
export async function createWorld(
  clients: readonly WorldClient[],
  options: {
    readonly emulatorSeed?: number;
    readonly emulator?: Partial<StytchEmulatorOptions>;
    /** @default - the functions' default budgets */
    readonly rateBudget?: RateBudgetSettings;
  } = {},
): Promise<World> {
  const moto = await startMoto();
  const emulator = await StytchEmulator.start({ seed: options.emulatorSeed ?? 1, ...options.emulator });
  const stytch = new StytchClient({
    projectId: emulator.projectId,
    secret: emulator.projectSecret,
    baseUrl: emulator.url,
    retry: { maxAttempts: 1 },
  });
  const secrets: Secret[] = [new Secret(emulator.projectSecret)];
  const sm = moto.clients.secretsManager();
  const aws = {
    dynamo: moto.clients.dynamoDb(),
    eventBridge: moto.clients.eventBridge(),
    secretsManager: sm,
  };
  const { credentialsArn, fingerprintKey } = await createWorldResources(aws, NAMES, emulator);
  secrets.push(fingerprintKey);
  const ids: Record<string, string> = {};
  const kinds = new Map<string, 'm2m' | 'connected_app'>();
  // Enrolled without indexing fingerprints (unlike the sandbox): a client's first rotation indexes them.
  for (const client of clients) {
    const kind = client.kind ?? 'm2m';
    const created = await registerClient(emulator, stytch, {
      kind,
      clientId: client.clientId,
      scopes: ['read:invoices'],
    });
    ids[client.clientId] = created.clientId;
    kinds.set(created.clientId, kind);
    secrets.push(created.clientSecret);
    await enrolClient(sm, PREFIX, emulator, created);
  }

  const config = enrolledConfig(
    withClients(
      parseDeploymentConfig({
        stytch: { projectCredentialsSecretArn: credentialsArn },
        secretPrefix: PREFIX,
      }),
      clients.map((client) => ({
        clientId: client.clientId,
        kind: client.kind ?? 'm2m',
        policy: client.policy ?? {},
      })),
    ),
    credentialsArn,
    new Map(Object.entries(ids)),
  );
  // The functions know a client from the registry, as `rotator apply` leaves it.
  const registry = new DynamoLedger({
    client: DynamoDBDocumentClient.from(aws.dynamo),
    tableName: NAMES.tableName,
  });
  for (const client of config.clients) await recordRegistration(registry, PREFIX, client);
  const template = synthesizeTemplate(config);

  // The handlers' composition reads the standard AWS configuration and the rotator's variables,
  // exactly as in Lambda; here they point at moto (no gateway) and the emulator.
  Object.assign(
    process.env,
    stepFunctionEnvironment({
      awsEndpoint: moto.endpoint,
      accessKey: MOTO_CREDENTIALS,
      names: NAMES,
      config,
      stytchUrl: emulator.url,
      ...(options.rateBudget === undefined ? {} : { rateBudget: options.rateBudget }),
    }),
  );
  // A budget an earlier world of this process set must not outlive it.
  if (options.rateBudget === undefined) {
    delete process.env[ENV.stytchRequestsPerSecond];
    delete process.env[ENV.secretsManagerWritesPerSecond];
  }

  const events: RotatorEvent[] = [];
  const logs: string[] = [];
  const logger = capturingLogger(logs);
  const real = stepDepsFromEnvironment(process.env, logger);
  const observed = observeStepDeps(real, { secrets, events });
  let executor: LocalExecutor | undefined;
  // Step Functions' task-token API is the executor's (the sandbox gateway will serve it over HTTP).
  // A task already answered or gone is not an error, as in SfnTaskCallbacks over the real API.
  const goneIsFine = (send: () => void): void => {
    try {
      send();
    } catch (error) {
      if (!(TASK_GONE_ERRORS as readonly string[]).includes((error as { code?: string }).code ?? ''))
        throw error;
    }
  };
  const callbacks: TaskCallbackPort = {
    succeed: async (token, output) =>
      goneIsFine(() => executor?.sendTaskSuccess(token, JSON.stringify(output))),
    fail: async (token, error, cause) => goneIsFine(() => executor?.sendTaskFailure(token, error, cause)),
  };
  let crashPlan: { point: CrashPoint; remaining: number; done: boolean } | undefined;
  /** The Lambda invocation a port call is made in: each bound handler runs in its own. */
  const invocations = new AsyncLocalStorage<Invocation>();
  /** Counts a call of `port.method` made in `invocation` against the armed crash; throws when it strikes. */
  const strike = (port: CrashPoint['port'], method: string | symbol, invocation: Invocation): void => {
    const plan = crashPlan;
    if (plan === undefined || plan.done || plan.point.port !== port || plan.point.method !== method) return;
    if (plan.point.step !== undefined && plan.point.step !== invocation.step) return;
    plan.remaining -= 1;
    if (plan.remaining > 0) return;
    plan.done = true;
    invocation.crash = new SimulatedCrashError(plan.point);
    throw invocation.crash;
  };
  /** Wraps every method of a port so the armed crash can strike after it. */
  const crashable = <T extends object>(port: CrashPoint['port'], target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const invocation = invocations.getStore();
          // A Lambda that died makes no further call.
          if (invocation?.crash !== undefined) throw invocation.crash;
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
          // Synchronous methods (secretIdOf) stay synchronous; only async calls can "crash", and
          // only in a handler's invocation (the test's own calls never do).
          if (!(result instanceof Promise) || invocation === undefined) return result;
          return result.then(
            (resolved) => {
              strike(port, property, invocation);
              return resolved;
            },
            (error: unknown) => {
              strike(port, property, invocation);
              throw error;
            },
          );
        };
      },
    });
  // Composed as createStepDeps composes it, but over a crashable Secrets Manager and ledger, so
  // that every call to either (each fingerprint index write included) is a crash point of its own.
  const ledger = crashable('ledger', real.ledger);
  const secretStore = fingerprintedSecrets(
    crashable('secrets', new SecretsManagerStore({ client: new SecretsManagerClient({}), prefix: PREFIX })),
    { fingerprints: real.fingerprints, index: ledger, clock: real.clock, logger },
  );
  const metrics = new RecordingMetrics();
  const deps: StepDeps = {
    ...real,
    // The leak intake starts executions of the local executor (moto does not run state machines).
    workflow: crashable('workflow', {
      start: async (name: string, input: unknown) => {
        try {
          return {
            executionArn: executor?.startExecution({ name, input }).executionArn ?? '',
            alreadyStarted: false,
          };
        } catch (error) {
          if ((error as { code?: string }).code !== 'ExecutionAlreadyExists') throw error;
          return {
            executionArn: `${executor?.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
            alreadyStarted: true,
          };
        }
      },
    }),
    // Step Functions is the local executor here (moto does not know its executions).
    executions: crashable('executions', {
      status: async (executionArn: string) => {
        try {
          return executor?.describeExecution(executionArn).status ?? null;
        } catch {
          return null;
        }
      },
    }),
    metrics,
    secrets: secretStore,
    ledger,
    // Every next secret Stytch hands the workflow and every event is remembered, for the leak scan.
    stytch: crashable('stytch', observed.stytch),
    callbacks: crashable('callbacks', callbacks),
    events: crashable('events', observed.events),
  };
  /**
   * A deployed function: the handler, run as one Lambda invocation. One that died (an armed crash
   * struck in it) ends with its crash error, whatever its own code made of the error it was thrown.
   */
  const bind = (name: StepName) => {
    const handler = bindStep(name, async () => deps);
    return (event: unknown): Promise<unknown> => {
      const invocation: Invocation = { step: name };
      return invocations.run(invocation, async () => {
        try {
          const output = await handler(event);
          if (invocation.crash !== undefined) throw invocation.crash;
          return output;
        } catch (error) {
          throw invocation.crash ?? error;
        }
      });
    };
  };
  executor = createWorldExecutor(template, bindFunctions(STATE_MACHINE_TASKS, bind), 0.001);
  const boundExecutor = executor;
  const aggregator = bind('HealthAggregator');
  const leakIntake = bind('LeakIntake');
  // The rule on Step Functions' status-change events, delivered as Lambda's asynchronous
  // invocation does: 1 attempt + 2 retries, then the on-failure destination.
  const reconciler = bind('ExecutionReconciler');
  const reconcilerRuns = new Set<Promise<void>>();
  const asyncFailures: string[] = [];
  let deliverEnds = true;
  boundExecutor.onExecutionEnded((ended) => {
    if (!deliverEnds) return;
    if (ended.status !== 'FAILED' && ended.status !== 'ABORTED' && ended.status !== 'TIMED_OUT') return;
    const event = {
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      detail: { executionArn: ended.executionArn, status: ended.status, input: ended.input },
    };
    const run = (async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await reconciler(event as never);
          return;
        } catch (error) {
          if (attempt >= 3) {
            asyncFailures.push(`${ended.executionArn}: ${(error as Error).name}`);
            return;
          }
        }
      }
    })();
    reconcilerRuns.add(run);
    void run.finally(() => reconcilerRuns.delete(run));
  });

  const captured = async (): Promise<string> => {
    const captures = await worldCaptures({
      functionLogs: logs,
      events,
      template,
      executor: boundExecutor,
      documents: moto.clients.dynamoDbDocument(),
      tableName: NAMES.tableName,
      emulator,
    });
    return [
      ...captures.map((capture) => capture.text),
      inspect(boundExecutor.definition, { depth: Infinity }),
    ].join('\n');
  };

  return {
    emulator,
    moto,
    executor: boundExecutor,
    stytch,
    deps,
    events,
    logs,
    secrets,
    template,
    ids,
    async run(input) {
      const { executionArn } = boundExecutor.startExecution({ input });
      return boundExecutor.waitForExecution(executionArn);
    },
    // Each sender speaks with the source IAM would let it use: a consumer its own, an operator the operator's.
    report: (detail, source = consumerSource(String(detail.consumer))) =>
      aggregator({ 'detail-type': 'Consumer Health Reported', source, detail } as never),
    leak: ({ source = EVENT_SOURCES.operator, ...event }) =>
      leakIntake({ ...event, 'detail-type': 'Secret Leak Detected', source } as never),
    deliverExecutionEnds(deliver) {
      deliverEnds = deliver;
    },
    captured,
    crashAfter(point) {
      crashPlan = { point, remaining: point.nth ?? 1, done: false };
    },
    crashed: () => crashPlan?.done ?? false,
    async reconciled() {
      while (reconcilerRuns.size > 0) await Promise.allSettled([...reconcilerRuns]);
    },
    asyncFailures,
    async assertInvariants(clientIds) {
      for (const clientId of clientIds) {
        const kind = kinds.get(clientId) ?? 'm2m';
        const ref = { clientId, kind };
        const current = await deps.secrets.read(ref, 'AWSCURRENT');
        const pending = await deps.secrets.read(ref, 'AWSPENDING');
        const previous = await deps.secrets.read(ref, 'AWSPREVIOUS');
        const atStytch =
          kind === 'm2m' ? await stytch.m2m.get(clientId) : await stytch.connectedApps.get(clientId);
        if (current === null) throw new Error(`${clientId}: no AWSCURRENT`);
        // Connected Apps have no client-credentials endpoint here: Stytch's last four are the proof.
        if (kind === 'm2m' && !(await mints(stytch, clientId, current.clientSecret))) {
          throw new Error(`${clientId}: AWSCURRENT …${current.clientSecret.lastFour} does not authenticate`);
        }
        if (atStytch.clientSecretLastFour !== current.clientSecret.lastFour) {
          throw new Error(
            `${clientId}: Stytch's current …${atStytch.clientSecretLastFour} is not AWSCURRENT`,
          );
        }
        if ((atStytch.nextClientSecretLastFour === null) !== (pending === null)) {
          throw new Error(
            `${clientId}: pending at Stytch (${atStytch.nextClientSecretLastFour}) but AWSPENDING is ${pending === null ? 'absent' : 'present'}`,
          );
        }
        if (pending !== null && atStytch.nextClientSecretLastFour !== pending.clientSecret.lastFour) {
          throw new Error(`${clientId}: AWSPENDING is not the secret Stytch has pending`);
        }
        if (kind === 'm2m' && previous !== null && (await mints(stytch, clientId, previous.clientSecret))) {
          throw new Error(`${clientId}: AWSPREVIOUS …${previous.clientSecret.lastFour} still authenticates`);
        }
      }
      const text = await captured();
      const leaked = secrets.filter((secret) => text.includes(secret.reveal()));
      if (leaked.length > 0) {
        throw new Error(
          `secret values found in captured output: ${leaked.map((s) => `…${s.lastFour}`).join(', ')}`,
        );
      }
    },
    async stop() {
      await boundExecutor.close();
      await stytch.close();
      await emulator.stop();
      await moto.stop();
    },
  };
}

/** One row of the crash table (docs/design.md, `### Crash table`), cells as written. */
export interface CrashTableRow {
  readonly step: string;
  readonly after: string;
  readonly error: string;
  readonly converges: string;
}

const CRASH_TABLE_HEADING = '### Crash table';

/** The rows of the crash table in docs/design.md, so the crash tests can check it lists exactly their points. */
export function crashTableRows(): CrashTableRow[] {
  const lines = readFileSync(new URL('../../../docs/design.md', import.meta.url), 'utf8').split('\n');
  const start = lines.indexOf(CRASH_TABLE_HEADING);
  if (start < 0) throw new Error(`docs/design.md has no "${CRASH_TABLE_HEADING}"`);
  return tableRowsAfter(lines, start);
}

/** The rows of the first Markdown table after line `start`. */
function tableRowsAfter(lines: readonly string[], start: number): CrashTableRow[] {
  const header = lines.findIndex((line, i) => i > start && line.startsWith('|'));
  const rows: CrashTableRow[] = [];
  // The header and its separator line, then one row per line until the table ends.
  for (let i = header + 2; i < lines.length && lines[i]?.startsWith('|'); i += 1) {
    const [step = '', after = '', error = '', converges = ''] = (lines[i] ?? '')
      .slice(1, -1)
      .split(' | ')
      .map((cell) => cell.trim());
    rows.push({ step, after, error, converges });
  }
  return rows;
}

async function mints(stytch: StytchClient, clientId: string, secret: Secret): Promise<boolean> {
  try {
    await stytch.token({ clientId, clientSecret: secret });
    return true;
  } catch (error) {
    // Any client-authentication refusal (Stytch's error value for a wrong secret is not documented).
    if (error instanceof StytchApiError && isClientAuthRefusal(error.statusCode, error.errorType))
      return false;
    throw error;
  }
}
