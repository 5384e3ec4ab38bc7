import type { SFNClient } from '@aws-sdk/client-sfn';
import type { TaskCallbackPort } from '#core/ports.js';
import { awsErrorCode, wrapAwsError } from './errors.js';
import { sfnSdk } from './sdk/sfn.js';

/** Step Functions' limit on a task failure's `cause` (characters). */
export const MAX_CAUSE_LENGTH = 32_768;
/** Step Functions' limit on a task failure's `error` name (characters). */
export const MAX_ERROR_LENGTH = 256;

/**
 * AWS answers these when the task no longer waits: it was answered already, timed out, or its
 * execution ended. Nothing is left to answer, so they are not failures of ours.
 */
export const TASK_GONE_ERRORS = ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'] as const;

/** One of {@link TASK_GONE_ERRORS}. */
export type TaskGoneError = (typeof TASK_GONE_ERRORS)[number];

/** The one logging method the adapter uses; a Powertools `Logger` satisfies it. */
export interface TaskCallbackLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** Props of {@link SfnTaskCallbacks}. */
export interface SfnTaskCallbacksProps {
  /** Built once per container by the handler. */
  readonly client: SFNClient;
  /**
   * Told when a task was already answered or gone.
   * @default - no logging (the boolean result still says so)
   */
  readonly logger?: TaskCallbackLogger;
}

/**
 * {@link TaskCallbackPort} over SendTaskSuccess / SendTaskFailure. A task already answered or gone
 * ({@link TASK_GONE_ERRORS}) is not an error (the aggregator and the waiter may both try): the
 * port's `succeed`/`fail` log it as a warning and return; `sendSuccess`/`sendFailure` say it with
 * `false` for callers that care.
 * Task tokens are never logged or put in error messages (a token lets anyone answer the task).
 */
export class SfnTaskCallbacks implements TaskCallbackPort {
  readonly #client: SFNClient;
  readonly #logger: TaskCallbackLogger | undefined;

  public constructor(props: SfnTaskCallbacksProps) {
    this.#client = props.client;
    this.#logger = props.logger;
  }

  /** Sends `output` as JSON; a task already answered or gone is logged, not thrown. */
  public async succeed(taskToken: string, output: unknown): Promise<void> {
    await this.sendSuccess(taskToken, output);
  }

  /** Like {@link sendFailure}; a task already answered or gone is logged, not thrown. */
  public async fail(taskToken: string, error: string, cause: string): Promise<void> {
    await this.sendFailure(taskToken, error, cause);
  }

  /** SendTaskSuccess with `output` as JSON: true when the task took it, false when it was gone. */
  public async sendSuccess(taskToken: string, output: unknown): Promise<boolean> {
    const gone = await this.#send('SendTaskSuccess', (sdk) =>
      this.#client.send(
        new sdk.SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? null) }),
      ),
    );
    return gone === null;
  }

  /**
   * SendTaskFailure, `error` cut to 256 characters and `cause` to 32 768 (Step Functions' limits):
   * true when the task took it, false when it was gone.
   */
  public async sendFailure(taskToken: string, error: string, cause: string): Promise<boolean> {
    return (await this.sendFailureOrGone(taskToken, error, cause)) === null;
  }

  /**
   * {@link sendFailure} for callers that say why a task was gone (an operator's `cancel`): null when
   * the task took the failure, else the {@link TASK_GONE_ERRORS} code AWS answered.
   */
  public sendFailureOrGone(taskToken: string, error: string, cause: string): Promise<TaskGoneError | null> {
    return this.#send('SendTaskFailure', (sdk) =>
      this.#client.send(
        new sdk.SendTaskFailureCommand({
          taskToken,
          error: truncate(error, MAX_ERROR_LENGTH),
          cause: truncate(cause, MAX_CAUSE_LENGTH),
        }),
      ),
    );
  }

  /** Runs `call`: null when it went through, the gone code when the task no longer waits. */
  async #send(
    operation: string,
    call: (sdk: Awaited<ReturnType<typeof sfnSdk>>) => Promise<unknown>,
  ): Promise<TaskGoneError | null> {
    const sdk = await sfnSdk();
    try {
      await call(sdk);
      return null;
    } catch (error) {
      const code = awsErrorCode(error);
      if (isTaskGone(code)) {
        this.#logger?.warn('Task already answered or gone; nothing to send', { operation, errorCode: code });
        return code;
      }
      throw wrapAwsError(error, { service: 'SFN', operation });
    }
  }
}

function isTaskGone(code: string): code is TaskGoneError {
  return (TASK_GONE_ERRORS as readonly string[]).includes(code);
}

/** Cuts `text` to `max` code points (never splitting a surrogate pair), marking the cut. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const codePoints = Array.from(text);
  if (codePoints.length <= max) return text;
  const marker = '…[truncated]';
  return codePoints.slice(0, max - marker.length).join('') + marker;
}
