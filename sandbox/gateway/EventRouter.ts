/**
 * Routes EventBridge events by the template's own rules, with moto's pattern matcher: each rule of
 * the template is created in moto on the sandbox bus with one SQS queue as its only target. moto
 * matches a `PutEvents` entry against the patterns and delivers it to the queues before it answers,
 * so right after forwarding a `PutEvents` the router drains the queues and hands each matched event
 * to the rule's real targets (the state machine, a Lambda handler), with the target's input built
 * as EventBridge builds it (`Input`, `InputPath`, `InputTransformer`).
 */
import type { Dispatcher } from 'undici';
import { keyMatchesFunction, type LocalExecutor, type LocalLambdaHandler } from '../localExecutor/index.js';
import { callAwsJson } from './awsJson.js';
import {
  buildTargetInput,
  logicalIdsOfType,
  resolveRefs,
  type TemplateRule,
  templateRules,
} from './templateTriggers.js';

/** A delivery that did not happen: on AWS it would land in the target's dead-letter queue. */
export interface UndeliveredEvent {
  readonly rule: string;
  readonly target: string;
  readonly reason: string;
  readonly detailType: string;
}

/**
 * How an {@link UndeliveredEvent}'s reason starts when the target is of a kind the sandbox does not
 * run (an SNS topic): no delivery was attempted, so none failed.
 */
export const NOT_MODELLED_TARGET = 'the sandbox cannot deliver to';

/** A delivery that happened (for the timeline and tests). */
export interface DeliveredEvent {
  readonly rule: string;
  readonly target: string;
  readonly detailType: string;
  /** For a state machine target, the execution it started. */
  readonly executionArn?: string;
}

export interface EventRouterOptions {
  readonly moto: { readonly endpoint: string; readonly region: string; readonly dispatcher: Dispatcher };
  readonly executor: LocalExecutor;
  readonly template: unknown;
  /** The bus the template's own `AWS::Events::EventBus` is, by name (rules on it are created there). */
  readonly eventBusName: string;
  /**
   * Lambda targets' handlers, keyed by a `/`-separated tail of the function's construct path (as the
   * local executor's `handlers`), e.g. `HealthAggregatorFunction/Function`.
   */
  readonly lambdaTargets: Readonly<Record<string, LocalLambdaHandler>>;
  /** Attempts per Lambda delivery (asynchronous invocation: 1 + 2 retries on AWS). @default 3 */
  readonly lambdaAttempts?: number;
  readonly onDelivered?: (delivery: DeliveredEvent) => void;
  readonly onUndelivered?: (failure: UndeliveredEvent) => void;
}

interface RouteQueue {
  readonly rule: TemplateRule;
  readonly queueUrl: string;
}

const QUEUE_PREFIX = 'sandbox-route-';
/** The most messages one ReceiveMessage returns (and one DeleteMessageBatch takes). */
const SQS_MAX_BATCH = 10;

/** What the router needs of a `PutEvents` entry to tell which rules may match it. */
export interface RoutedEntry {
  readonly source?: string | undefined;
  readonly detailType?: string | undefined;
}

/**
 * Whether `pattern` may match `entry`, judged on `source` and `detail-type` only and erring on the
 * side of yes: a field the pattern does not constrain, or constrains with anything but a list of
 * exact strings (`prefix`, `anything-but`, …), may match.
 */
export function mayMatch(pattern: Record<string, unknown>, entry: RoutedEntry): boolean {
  const allows = (field: string, value: string | undefined): boolean => {
    const values = pattern[field];
    if (!Array.isArray(values) || !values.every((item) => typeof item === 'string')) return true;
    return value !== undefined && values.includes(value);
  };
  return allows('source', entry.source) && allows('detail-type', entry.detailType);
}

export class EventRouter {
  readonly #options: EventRouterOptions;
  readonly #queues: RouteQueue[];
  readonly #inFlight = new Set<Promise<void>>();
  #draining: Promise<void> = Promise.resolve();
  /** The pass queued behind the one running, not started yet: later drains join it (and add queues). */
  #nextPass: { readonly promise: Promise<void>; readonly queues: Set<RouteQueue> } | undefined;
  public readonly delivered: DeliveredEvent[] = [];
  public readonly undelivered: UndeliveredEvent[] = [];

  private constructor(options: EventRouterOptions, queues: RouteQueue[]) {
    this.#options = options;
    this.#queues = queues;
  }

  /** Creates the template's rules (on the sandbox bus) and their route queues in moto. */
  public static async create(options: EventRouterOptions): Promise<EventRouter> {
    const { moto } = options;
    const queues: RouteQueue[] = [];
    // A pattern may name the state machine itself (its own status-change events): the local
    // executor's ARN stands in for the template's Ref.
    const refs = new Map(
      logicalIdsOfType(options.template, 'AWS::StepFunctions::StateMachine').map(
        (id) => [id, options.executor.stateMachineArn] as const,
      ),
    );
    for (const rule of templateRules(options.template)) {
      // Rules on another bus of the template (none today) would need that bus; the default bus is not ours.
      const queueName = `${QUEUE_PREFIX}${rule.logicalId}`.slice(0, 80);
      const { QueueUrl } = await callAwsJson<{ QueueUrl: string }>(moto, 'sqs', 'AmazonSQS.CreateQueue', {
        QueueName: queueName,
      });
      const queueArn = `arn:aws:sqs:${moto.region}:123456789012:${queueName}`;
      await callAwsJson(
        moto,
        'events',
        'AWSEvents.PutRule',
        {
          Name: rule.logicalId,
          EventBusName: options.eventBusName,
          EventPattern: JSON.stringify(resolveRefs(rule.eventPattern, refs)),
          State: rule.enabled ? 'ENABLED' : 'DISABLED',
          Description: 'sandbox route of the template rule of the same name',
        },
        'application/x-amz-json-1.1',
      );
      await callAwsJson(
        moto,
        'events',
        'AWSEvents.PutTargets',
        {
          Rule: rule.logicalId,
          EventBusName: options.eventBusName,
          Targets: [{ Id: 'sandbox-route', Arn: queueArn }],
        },
        'application/x-amz-json-1.1',
      );
      // moto delivers to the targets of disabled rules too; a disabled template rule routes nothing.
      if (rule.enabled) queues.push({ rule, queueUrl: QueueUrl });
    }
    return new EventRouter(options, queues);
  }

  /** The template rules being routed (logical ids). */
  public get rules(): readonly string[] {
    return this.#queues.map((queue) => queue.rule.logicalId);
  }

  /**
   * Takes what moto delivered to the route queues and dispatches it. Called after every `PutEvents`
   * moto accepted, with its entries: only the queues of rules that may match one of them are
   * drained (every message in a queue came from entries its rule matched, so none is left behind).
   * Passes are serialised (each message is taken once, each queue in order), and a drain asked for
   * while a pass waits to start joins that pass, adding its queues: the pass starts after moto
   * queued the caller's messages, so it takes them too. A burst of PutEvents costs one pass behind
   * the running one, not one pass each; within a pass the queues are drained concurrently.
   */
  public drain(entries?: readonly RoutedEntry[]): Promise<void> {
    const wanted =
      entries === undefined
        ? this.#queues
        : this.#queues.filter((queue) => entries.some((entry) => mayMatch(queue.rule.eventPattern, entry)));
    if (wanted.length === 0) return Promise.resolve();
    if (this.#nextPass !== undefined) {
      for (const queue of wanted) this.#nextPass.queues.add(queue);
      return this.#nextPass.promise;
    }
    const queues = new Set(wanted);
    const promise = this.#draining
      .then(() => {
        this.#nextPass = undefined;
        return this.#drainQueues([...queues]);
      })
      .catch(() => undefined);
    this.#nextPass = { promise, queues };
    this.#draining = promise;
    return promise;
  }

  /** Resolves when every dispatched delivery (Lambda invocations included) has finished. */
  public async idle(): Promise<void> {
    await this.#draining;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async #drainQueues(queues: readonly RouteQueue[]): Promise<void> {
    await Promise.all(queues.map((queue) => this.#drainQueue(queue)));
  }

  /**
   * Takes the queue's messages ten at a time (SQS's most), deletes each batch in one call and
   * dispatches it. A batch of fewer than ten ends the pass: moto queued every message of the
   * PutEvents this pass serves before the pass began, so a short batch has taken them all (what
   * arrives meanwhile comes from a later PutEvents, whose own drain takes it). Two moto calls per
   * ten events, where one per event made the router moto's busiest client under a burst.
   */
  async #drainQueue(queue: RouteQueue): Promise<void> {
    for (;;) {
      const { Messages = [] } = await callAwsJson<{ Messages?: { Body: string; ReceiptHandle: string }[] }>(
        this.#options.moto,
        'sqs',
        'AmazonSQS.ReceiveMessage',
        {
          QueueUrl: queue.queueUrl,
          MaxNumberOfMessages: SQS_MAX_BATCH,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 300,
        },
      );
      if (Messages.length === 0) break;
      await callAwsJson(this.#options.moto, 'sqs', 'AmazonSQS.DeleteMessageBatch', {
        QueueUrl: queue.queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
        })),
      });
      for (const message of Messages) {
        this.#dispatch(queue.rule, JSON.parse(message.Body) as Record<string, unknown>);
      }
      if (Messages.length < SQS_MAX_BATCH) break;
    }
  }

  #dispatch(rule: TemplateRule, event: Record<string, unknown>): void {
    const detailType = typeof event['detail-type'] === 'string' ? event['detail-type'] : '';
    for (const { id, target, input } of rule.targets) {
      const fail = (reason: string): void => {
        const failure = { rule: rule.logicalId, target: id, reason, detailType };
        this.undelivered.push(failure);
        this.#options.onUndelivered?.(failure);
      };
      let payload: unknown;
      try {
        payload = buildTargetInput(input, event);
      } catch (error) {
        fail(
          `the target input could not be built: ${error instanceof Error ? error.message : String(error)}`,
        );
        continue;
      }
      if (target.kind === 'stateMachine') {
        try {
          const { executionArn } = this.#options.executor.startExecution({ input: payload });
          this.#record({ rule: rule.logicalId, target: id, detailType, executionArn });
        } catch (error) {
          fail(
            `StartExecution: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
          );
        }
        continue;
      }
      if (target.kind === 'lambda') {
        const handler = this.#lambdaHandler(target);
        if (handler === undefined) {
          fail(`no local handler is bound to ${target.constructPath ?? target.logicalId}`);
          continue;
        }
        const invocation = this.#invoke(handler, payload, target.logicalId).then(
          () => this.#record({ rule: rule.logicalId, target: id, detailType }),
          (error: unknown) =>
            fail(`Lambda ${target.logicalId}: ${error instanceof Error ? error.name : 'error'}`),
        );
        this.#inFlight.add(invocation);
        void invocation.finally(() => this.#inFlight.delete(invocation));
        continue;
      }
      fail(`${NOT_MODELLED_TARGET} ${target.description}`);
    }
  }

  async #invoke(handler: LocalLambdaHandler, payload: unknown, functionName: string): Promise<void> {
    const attempts = this.#options.lambdaAttempts ?? 3;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        // A JSON copy, as Lambda would deserialise it.
        await handler(JSON.parse(JSON.stringify(payload)), {
          functionName,
          executionArn: '',
          stateName: '',
        });
        return;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** The bound handler of a Lambda target, matched by the same rule as the executor's `handlers`. */
  #lambdaHandler(target: { logicalId: string; constructPath?: string }): LocalLambdaHandler | undefined {
    const fn = {
      logicalId: target.logicalId,
      functionName: target.logicalId,
      arn: '',
      ...(target.constructPath === undefined ? {} : { constructPath: target.constructPath }),
    };
    return Object.entries(this.#options.lambdaTargets).find(([key]) => keyMatchesFunction(key, fn))?.[1];
  }

  #record(delivery: DeliveredEvent): void {
    this.delivered.push(delivery);
    this.#options.onDelivered?.(delivery);
  }
}
