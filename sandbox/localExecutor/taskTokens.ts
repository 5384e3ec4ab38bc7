import { randomBytes } from 'node:crypto';
import { LocalSfnApiError, TaskFailureError } from './errors.js';

/** One task waiting for its callback. */
interface OpenTask {
  readonly executionArn: string;
  readonly stateName: string;
  readonly resolve: (output: unknown) => void;
  readonly reject: (error: TaskFailureError) => void;
  readonly heartbeatMs?: number;
  deadlineTimer?: NodeJS.Timeout;
  heartbeatTimer?: NodeJS.Timeout;
}

/** Options of {@link TaskTokenRegistry.open}. */
export interface OpenTaskOptions {
  readonly executionArn: string;
  readonly stateName: string;
  /** After this, the token is closed (`TaskTimedOut`); the library's own timer fails the state. */
  readonly timeoutMs?: number;
  /** Without a heartbeat or an answer for this long, the task fails with `States.HeartbeatTimeout`. */
  readonly heartbeatMs?: number;
}

/**
 * Task tokens of `.waitForTaskToken` tasks and the waiters that `SendTaskSuccess` / `SendTaskFailure`
 * settle. A token is open while its task waits; after that it is closed, and answering it is
 * `TaskTimedOut` as on AWS ("the task token has either expired or the task associated with the token
 * has already been closed"). A token never issued is `TaskDoesNotExist`.
 */
export class TaskTokenRegistry {
  private readonly open = new Map<string, OpenTask>();
  private readonly issued = new Set<string>();

  /** A new random token (opaque, base64url, like AWS's in spirit). */
  public issue(): string {
    const token = randomBytes(48).toString('base64url');
    this.issued.add(token);
    return token;
  }

  /** Opens `token` for a waiting task; the promise settles with the callback's outcome. */
  public wait(token: string, options: OpenTaskOptions): Promise<unknown> {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const task: OpenTask = {
      executionArn: options.executionArn,
      stateName: options.stateName,
      resolve,
      reject,
      ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    };
    this.issued.add(token);
    this.open.set(token, task);
    if (options.timeoutMs !== undefined) {
      // Only closes the token: the state's States.Timeout comes from the library's timer, which started
      // at the same moment, so Catch/Retry see the library's own timeout error.
      task.deadlineTimer = setTimeout(() => this.close(token), options.timeoutMs);
    }
    this.armHeartbeat(token, task);
    return promise;
  }

  /** `SendTaskSuccess`: `output` is the JSON text the caller sent. */
  public succeed(token: string, output: string): void {
    let value: unknown;
    try {
      value = JSON.parse(output);
    } catch (error) {
      throw new LocalSfnApiError('InvalidOutput', 'The provided JSON output data is invalid.', {
        cause: error,
      });
    }
    this.take(token).resolve(value);
  }

  /** `SendTaskFailure`. */
  public fail(token: string, error = '', cause = ''): void {
    this.take(token).reject(new TaskFailureError(error, cause));
  }

  /** `SendTaskHeartbeat`: restarts the heartbeat clock of an open task. */
  public heartbeat(token: string): void {
    const task = this.find(token);
    this.armHeartbeat(token, task);
  }

  /** Fails every open task of a stopped execution (never retried or caught) and closes its tokens. */
  public closeExecution(executionArn: string, error: string, cause: string): void {
    for (const [token, task] of this.open) {
      if (task.executionArn !== executionArn) continue;
      this.close(token);
      task.reject(new TaskFailureError(error, cause, { final: true }));
    }
  }

  /** Whether a task waits on `token`. */
  public isOpen(token: string): boolean {
    return this.open.has(token);
  }

  /** Closes `token` without settling its task (the task's state has ended another way). */
  public close(token: string): void {
    const task = this.open.get(token);
    if (task === undefined) return;
    clearTimeout(task.deadlineTimer);
    clearTimeout(task.heartbeatTimer);
    this.open.delete(token);
  }

  private take(token: string): OpenTask {
    const task = this.find(token);
    this.close(token);
    return task;
  }

  private find(token: string): OpenTask {
    const task = this.open.get(token);
    if (task !== undefined) return task;
    if (this.issued.has(token)) {
      throw new LocalSfnApiError(
        'TaskTimedOut',
        'Task Timed Out: the task token has either expired or the task associated with the token has already been closed.',
      );
    }
    throw new LocalSfnApiError('TaskDoesNotExist', 'Task does not exist: no task was given this token.');
  }

  private armHeartbeat(token: string, task: OpenTask): void {
    if (task.heartbeatMs === undefined) return;
    clearTimeout(task.heartbeatTimer);
    task.heartbeatTimer = setTimeout(() => {
      this.close(token);
      task.reject(new TaskFailureError('States.HeartbeatTimeout', ''));
    }, task.heartbeatMs);
  }
}
