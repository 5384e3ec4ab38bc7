import { randomBytes } from 'node:crypto';
import type {
  ManagedClientSettings,
  RotationMetricsPort,
  StepDeps,
  StepLogger,
  WorkflowStarterPort,
} from '#core/deps.js';
import { EVENT_SCHEMAS, type RotatorEvent } from '#core/events.js';
import { type FingerprintEntry, type FingerprintPort, fingerprintOf } from '#core/fingerprint.js';
import type {
  BeginResult,
  ClientRef,
  ConsumerReport,
  DecidedBy,
  DecisionAnswer,
  EscalationKind,
  ExecutionStatus,
  ExecutionStatusPort,
  LeakReportRecord,
  LedgerPort,
  LockResult,
  ManagedSecretValue,
  RefusedReport,
  RotationLock,
  RotationPatch,
  RotationRecord,
  SecretStorePort,
  SecretVersions,
  StoredSecretValue,
  StytchPort,
  StytchSecretState,
  TaskCallbackPort,
  VersionStage,
} from '#core/ports.js';
import { MAX_REFUSED_REPORTS } from '#core/ports.js';
import { AlreadyRotatingError, NotRotatingError, SelfTestFailedError } from '#core/rotationErrors.js';
import { Secret } from '#core/secret.js';
import type { WorkflowInput } from '#core/workflow.js';

/**
 * In-memory fakes of the core ports, faithful to the contracts in ports.ts (and to Stytch's and
 * Secrets Manager's semantics), for unit tests of the steps. Integration tests use the real
 * adapters against the emulator and moto instead.
 */

type StytchMethod = 'startRotation' | 'completeRotation' | 'cancelRotation' | 'getSecretState';

/** Stytch's rotation semantics for any number of clients, with one-shot faults. */
export class FakeStytch implements StytchPort {
  readonly #clients = new Map<string, { current: string; next: string | null }>();
  readonly #faults = new Map<StytchMethod, { error: Error; commit: boolean }[]>();
  /** Every secret this fake ever issued, for leak scans. */
  public readonly issued: string[] = [];
  public readonly calls: string[] = [];

  /** Registers a client with `secret` as its current secret. */
  public register(clientId: string, secret: string): void {
    this.#clients.set(clientId, { current: secret, next: null });
    this.issued.push(secret);
  }

  /** The next call of `method` throws `error`; with `commit` the change happens first (a lost response). */
  public failNext(method: StytchMethod, error: Error, options: { commit?: boolean } = {}): void {
    const queue = this.#faults.get(method) ?? [];
    queue.push({ error, commit: options.commit ?? false });
    this.#faults.set(method, queue);
  }

  public secretsOf(clientId: string): { current: string; next: string | null } {
    const state = this.#clients.get(clientId);
    if (!state) throw new Error(`no client ${clientId}`);
    return { ...state };
  }

  public async startRotation(client: ClientRef): Promise<{ nextSecret: Secret; state: StytchSecretState }> {
    return this.#run('startRotation', client, (state) => {
      if (state.next !== null) throw new AlreadyRotatingError(client.clientId);
      state.next = randomBytes(33).toString('base64url');
      this.issued.push(state.next);
      return { nextSecret: new Secret(state.next), state: view(state) };
    });
  }

  public async completeRotation(client: ClientRef): Promise<StytchSecretState> {
    return this.#run('completeRotation', client, (state) => {
      if (state.next === null) throw new NotRotatingError(client.clientId);
      state.current = state.next;
      state.next = null;
      return view(state);
    });
  }

  public async cancelRotation(client: ClientRef): Promise<StytchSecretState> {
    return this.#run('cancelRotation', client, (state) => {
      if (state.next === null) throw new NotRotatingError(client.clientId);
      state.next = null;
      return view(state);
    });
  }

  public async getSecretState(client: ClientRef): Promise<StytchSecretState> {
    return this.#run('getSecretState', client, (state) => view(state));
  }

  public async selfTest(client: ClientRef, secret: Secret): Promise<void> {
    if (!(await this.authenticates(client, secret))) {
      throw new SelfTestFailedError(client.clientId, secret.lastFour);
    }
  }

  public async authenticates(client: ClientRef, secret: Secret): Promise<boolean> {
    const state = this.secretsOf(client.clientId);
    return secret.equals(state.current) || (state.next !== null && secret.equals(state.next));
  }

  async #run<T>(
    method: StytchMethod,
    client: ClientRef,
    change: (state: { current: string; next: string | null }) => T,
  ): Promise<T> {
    this.calls.push(`${method}:${client.clientId}`);
    const state = this.#clients.get(client.clientId);
    if (!state) throw new Error(`no client ${client.clientId}`);
    const fault = this.#faults.get(method)?.shift();
    if (fault && !fault.commit) throw fault.error;
    const result = change(state);
    if (fault) throw fault.error;
    return result;
  }
}

function view(state: { current: string; next: string | null }): StytchSecretState {
  return {
    currentLastFour: state.current.slice(-4),
    nextLastFour: state.next === null ? null : state.next.slice(-4),
  };
}

interface StoredVersion {
  readonly value: string;
  readonly stages: Set<VersionStage>;
}

/** Secrets Manager's staging-label semantics (AWS's, not moto's deviations). */
export class FakeSecretStore implements SecretStorePort {
  readonly #secrets = new Map<string, Map<string, StoredVersion>>();
  public readonly calls: string[] = [];

  public secretIdOf(client: ClientRef): string {
    return `stytch/m2m/${client.clientId}`;
  }

  /** Writes the initial AWSCURRENT version (what enrolment does). */
  public seed(clientId: string, value: ManagedSecretValue, versionId = 'v0'): void {
    const versions = new Map<string, StoredVersion>();
    versions.set(versionId, { value: serialize(value), stages: new Set(['AWSCURRENT']) });
    this.#secrets.set(clientId, versions);
  }

  public async versions(client: ClientRef): Promise<SecretVersions> {
    const find = (stage: VersionStage): string | null =>
      [...this.#versionsOf(client)].find(([, v]) => v.stages.has(stage))?.[0] ?? null;
    return {
      currentVersionId: find('AWSCURRENT'),
      pendingVersionId: find('AWSPENDING'),
      previousVersionId: find('AWSPREVIOUS'),
    };
  }

  public async read(client: ClientRef, stage: VersionStage): Promise<StoredSecretValue | null> {
    const found = [...this.#versionsOf(client)].find(([, v]) => v.stages.has(stage));
    if (found === undefined) return null;
    const [versionId, version] = found;
    return { ...deserialize(version.value), versionId, versionStages: [...version.stages] };
  }

  public async putPending(client: ClientRef, versionId: string, value: ManagedSecretValue): Promise<void> {
    this.calls.push(`putPending:${versionId}`);
    const versions = this.#versionsOf(client);
    const existing = versions.get(versionId);
    if (existing) {
      if (existing.value !== serialize(value)) throw new Error('ResourceExistsException');
      existing.stages.add('AWSPENDING');
      return;
    }
    for (const version of versions.values()) version.stages.delete('AWSPENDING');
    versions.set(versionId, { value: serialize(value), stages: new Set(['AWSPENDING']) });
  }

  public async promotePending(client: ClientRef, versionId: string): Promise<void> {
    this.calls.push(`promotePending:${versionId}`);
    const versions = this.#versionsOf(client);
    const target = versions.get(versionId);
    if (!target) throw new Error(`no version ${versionId}`);
    if (!target.stages.has('AWSCURRENT')) {
      for (const version of versions.values()) version.stages.delete('AWSPREVIOUS');
      for (const version of versions.values()) {
        if (version.stages.delete('AWSCURRENT')) version.stages.add('AWSPREVIOUS');
      }
      target.stages.add('AWSCURRENT');
    }
    target.stages.delete('AWSPENDING');
  }

  public async removePending(client: ClientRef, versionId: string): Promise<void> {
    this.calls.push(`removePending:${versionId}`);
    this.#versionsOf(client).get(versionId)?.stages.delete('AWSPENDING');
  }

  /** Version ids and their labels (no values), for assertions. */
  public dump(): string {
    return JSON.stringify(
      [...this.#secrets].map(([id, v]) => [id, [...v].map(([vid, x]) => [vid, [...x.stages]])]),
    );
  }

  #versionsOf(client: ClientRef): Map<string, StoredVersion> {
    const versions = this.#secrets.get(client.clientId);
    if (!versions) throw new Error(`ResourceNotFoundException: ${client.clientId}`);
    return versions;
  }
}

function serialize(value: ManagedSecretValue): string {
  return JSON.stringify({
    project_id: value.projectId,
    client_id: value.clientId,
    client_secret: value.clientSecret.reveal(),
    token_url: value.tokenUrl,
  });
}

function deserialize(text: string): ManagedSecretValue {
  const json = JSON.parse(text) as Record<string, string>;
  return {
    projectId: json.project_id ?? '',
    clientId: json.client_id ?? '',
    clientSecret: new Secret(json.client_secret ?? ''),
    tokenUrl: json.token_url ?? '',
  };
}

/** The ledger's contract, in memory (single-threaded, so every conditional write is trivially atomic). */
export class FakeLedger implements LedgerPort {
  readonly #locks = new Map<string, RotationLock>();
  readonly #rotations = new Map<string, RotationRecord>();

  public async acquireLock(lock: RotationLock, now: Date): Promise<LockResult> {
    const held = this.#locks.get(lock.clientId);
    if (held && held.rotationId !== lock.rotationId && Date.parse(held.expiresAt) >= now.getTime()) {
      return { acquired: false, heldBy: held };
    }
    this.#locks.set(lock.clientId, lock);
    return { acquired: true };
  }

  public async takeOverLock(lock: RotationLock, staleRotationId: string): Promise<boolean> {
    const held = this.#locks.get(lock.clientId)?.rotationId;
    if (held !== staleRotationId && held !== lock.rotationId) return false;
    this.#locks.set(lock.clientId, lock);
    return true;
  }

  public async releaseLock(clientId: string, rotationId: string): Promise<void> {
    if (this.#locks.get(clientId)?.rotationId === rotationId) this.#locks.delete(clientId);
  }

  public async getLock(clientId: string): Promise<RotationLock | null> {
    return this.#locks.get(clientId) ?? null;
  }

  public async createRotation(record: RotationRecord): Promise<RotationRecord> {
    const key = `${record.clientId}/${record.rotationId}`;
    const existing = this.#rotations.get(key);
    if (existing) return existing;
    this.#rotations.set(key, record);
    return record;
  }

  public async getRotation(clientId: string, rotationId: string): Promise<RotationRecord | null> {
    return this.#rotations.get(`${clientId}/${rotationId}`) ?? null;
  }

  public async updateRotation(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
  ): Promise<RotationRecord> {
    const record = await this.getRotation(clientId, rotationId);
    if (!record) throw new Error(`no rotation ${rotationId}`);
    const { steps, ...rest } = patch;
    const updated: RotationRecord = { ...record, ...rest, steps: { ...record.steps, ...steps } };
    this.#rotations.set(`${clientId}/${rotationId}`, updated);
    return updated;
  }

  /** The lock, the record and the entries, as the separate writes make them (the adapter makes them in one). */
  public async beginRotation(
    lock: RotationLock,
    record: RotationRecord,
    entries: readonly FingerprintEntry[],
    now: Date,
  ): Promise<BeginResult> {
    const acquired = await this.acquireLock(lock, now);
    if (!acquired.acquired) return acquired;
    for (const entry of entries) await this.putFingerprint(entry);
    return { acquired: true, record: await this.createRotation(record) };
  }

  public async recordStep(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
  ): Promise<void> {
    await this.updateRotation(clientId, rotationId, patch);
    for (const entry of entries) await this.putFingerprint(entry);
  }

  public async recordStepAndClaim(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
    decidedAt: string,
    decision: DecisionAnswer,
  ): Promise<boolean> {
    if (!(await this.keepTokenAndClaim(clientId, rotationId, patch, decidedAt, decision))) return false;
    for (const entry of entries) await this.putFingerprint(entry);
    return true;
  }

  /** Null when it ended with no escalation on it and the lock was ours (the adapter's one write). */
  public async endRotation(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    entries: readonly FingerprintEntry[],
  ): Promise<RotationRecord | null> {
    for (const entry of entries) await this.putFingerprint(entry);
    const ended = await this.updateRotation(clientId, rotationId, patch);
    const ours = this.#locks.get(clientId)?.rotationId === rotationId;
    await this.releaseLock(clientId, rotationId);
    const escalated = ended.escalatedCancel !== undefined || ended.escalatedComplete !== undefined;
    return escalated || !ours ? ended : null;
  }

  public async recordReport(
    clientId: string,
    rotationId: string,
    consumer: string,
    report: ConsumerReport,
  ): Promise<RotationRecord | null> {
    const record = await this.getRotation(clientId, rotationId);
    if (record === null || (record.status !== 'started' && record.status !== 'pending')) return null;
    const updated = { ...record, reports: { ...record.reports, [consumer]: report } };
    this.#rotations.set(`${clientId}/${rotationId}`, updated);
    return updated;
  }

  /** Appends (keeping the latest {@link MAX_REFUSED_REPORTS}) and counts, whatever the status. */
  public async recordRefusedReport(
    clientId: string,
    rotationId: string,
    refused: RefusedReport,
  ): Promise<boolean> {
    const record = await this.getRotation(clientId, rotationId);
    if (record === null) return false;
    this.#rotations.set(`${clientId}/${rotationId}`, {
      ...record,
      refusedReports: [...(record.refusedReports ?? []), { ...refused }].slice(-MAX_REFUSED_REPORTS),
      refusedReportCount: (record.refusedReportCount ?? 0) + 1,
    });
    return true;
  }

  public async claimDecision(
    clientId: string,
    rotationId: string,
    decidedAt: string,
    decision: DecisionAnswer,
    decidedBy?: DecidedBy,
  ): Promise<boolean> {
    const record = await this.getRotation(clientId, rotationId);
    if (!record || record.decidedAt !== undefined) return false;
    this.#rotations.set(`${clientId}/${rotationId}`, {
      ...record,
      decidedAt,
      decision,
      ...(decidedBy === undefined ? {} : { decidedBy }),
    });
    return true;
  }

  /** The patch and the waiter's claim in one write, under the adapter's condition. */
  public async keepTokenAndClaim(
    clientId: string,
    rotationId: string,
    patch: RotationPatch,
    decidedAt: string,
    decision: DecisionAnswer,
  ): Promise<boolean> {
    const record = await this.getRotation(clientId, rotationId);
    if (
      record === null ||
      (record.status !== 'started' && record.status !== 'pending') ||
      record.expectedConsumers.length > 0 ||
      record.escalatedCancel !== undefined ||
      record.escalatedComplete !== undefined ||
      record.decidedAt !== undefined
    ) {
      return false;
    }
    const updated = await this.updateRotation(clientId, rotationId, patch);
    this.#rotations.set(`${clientId}/${rotationId}`, {
      ...updated,
      decidedAt,
      decision,
      decidedBy: 'waiter',
    });
    return true;
  }

  public async markAnswered(clientId: string, rotationId: string, answeredAt: string): Promise<void> {
    const record = await this.getRotation(clientId, rotationId);
    if (!record) throw new Error(`no rotation ${clientId}/${rotationId}`);
    this.#rotations.set(`${clientId}/${rotationId}`, {
      ...record,
      answeredAt: record.answeredAt ?? answeredAt,
    });
  }

  public async listRotations(clientId: string, limit: number): Promise<readonly RotationRecord[]> {
    return [...this.#rotations.values()]
      .filter((r) => r.clientId === clientId)
      .sort((a, b) => (b.steps.started ?? '').localeCompare(a.steps.started ?? ''))
      .slice(0, limit);
  }

  readonly #fingerprints = new Map<string, FingerprintEntry>();

  public async escalateRotation(
    clientId: string,
    rotationId: string,
    kind: EscalationKind,
    at: string,
  ): Promise<RotationRecord | null> {
    const key = `${clientId}/${rotationId}`;
    const record = this.#rotations.get(key);
    if (record === undefined || (record.status !== 'started' && record.status !== 'pending')) return null;
    const field = kind === 'complete' ? 'escalatedComplete' : 'escalatedCancel';
    const updated: RotationRecord = { ...record, [field]: record[field] ?? at };
    this.#rotations.set(key, updated);
    return { ...updated };
  }

  readonly #leakReports = new Map<string, LeakReportRecord>();

  /** The first record of each event id is kept, as the adapter's guard keeps it. */
  public async recordLeakReport(report: LeakReportRecord): Promise<boolean> {
    if (this.#leakReports.has(report.eventId)) return false;
    this.#leakReports.set(report.eventId, { ...report, outcome: { ...report.outcome } });
    return true;
  }

  public async listLeakReports(clientId: string, limit: number): Promise<readonly LeakReportRecord[]> {
    return [...this.#leakReports.values()]
      .filter((report) => report.clientId === clientId)
      .sort((a, b) => `${b.receivedAt}#${b.eventId}`.localeCompare(`${a.receivedAt}#${a.eventId}`))
      .slice(0, limit);
  }

  public async putFingerprint(entry: FingerprintEntry): Promise<void> {
    this.#fingerprints.set(entry.fingerprint, { ...entry });
  }

  public async findFingerprint(fingerprint: string): Promise<FingerprintEntry | null> {
    return this.#fingerprints.get(fingerprint) ?? null;
  }

  public dump(): string {
    return JSON.stringify({
      locks: [...this.#locks.values()],
      rotations: [...this.#rotations.values()],
      fingerprints: [...this.#fingerprints.values()],
      leakReports: [...this.#leakReports.values()],
    });
  }
}

/** The fingerprint key of every fake: fixed, so tests can compute expected fingerprints. */
export const FAKE_FINGERPRINT_KEY = new Secret('fake-fingerprint-key-0123456789abcdef');

/** Fingerprints under {@link FAKE_FINGERPRINT_KEY}, computed in process like the real adapter. */
export class FakeFingerprints implements FingerprintPort {
  public async fingerprint(secret: Secret | string): Promise<string> {
    return fingerprintOf(FAKE_FINGERPRINT_KEY, secret);
  }
}

/** Execution statuses by ARN; an execution nobody set is running (the default of a live workflow). */
export class FakeExecutions implements ExecutionStatusPort {
  readonly #statuses = new Map<string, ExecutionStatus | null>();

  /** Sets what DescribeExecution says of `executionArn` (`null`: it does not exist). */
  public set(executionArn: string, status: ExecutionStatus | null): void {
    this.#statuses.set(executionArn, status);
  }

  public async status(executionArn: string): Promise<ExecutionStatus | null> {
    return this.#statuses.has(executionArn) ? (this.#statuses.get(executionArn) ?? null) : 'RUNNING';
  }
}

/** Records the executions the leak intake starts; a name started twice reports `alreadyStarted`. */
export class FakeWorkflow implements WorkflowStarterPort {
  public readonly started: { name: string; input: WorkflowInput }[] = [];

  public async start(name: string, input: WorkflowInput) {
    const executionArn = `arn:aws:states:us-east-1:123456789012:execution:StytchM2MRotator:${name}`;
    if (this.started.some((execution) => execution.name === name)) {
      return { executionArn, alreadyStarted: true };
    }
    this.started.push({ name, input: { ...input } });
    return { executionArn, alreadyStarted: false };
  }
}

/** Captures metrics as plain records, so tests assert what a Lambda would have emitted. */
export class RecordingMetrics implements RotationMetricsPort {
  public readonly ended: Parameters<RotationMetricsPort['rotationEnded']>[0][] = [];
  public readonly firstReports: Parameters<RotationMetricsPort['firstConsumerReport']>[0][] = [];

  public rotationEnded(metric: Parameters<RotationMetricsPort['rotationEnded']>[0]): void {
    this.ended.push({ ...metric });
  }

  public firstConsumerReport(metric: Parameters<RotationMetricsPort['firstConsumerReport']>[0]): void {
    this.firstReports.push({ ...metric });
  }
}

/** Collects published events, validating each as the real publisher does. */
export class FakeEventBus {
  public readonly events: RotatorEvent[] = [];

  public async publish(...events: RotatorEvent[]): Promise<void> {
    for (const event of events) EVENT_SCHEMAS[event.detailType].parse(event.detail);
    this.events.push(...events);
  }

  public types(): string[] {
    return this.events.map((e) => e.detailType);
  }
}

export class FakeCallbacks implements TaskCallbackPort {
  public readonly calls: { kind: 'succeed' | 'fail'; token: string; payload: unknown }[] = [];

  public async succeed(taskToken: string, output: unknown): Promise<void> {
    this.calls.push({ kind: 'succeed', token: taskToken, payload: output });
  }

  public async fail(taskToken: string, error: string, cause: string): Promise<void> {
    this.calls.push({ kind: 'fail', token: taskToken, payload: { error, cause } });
  }
}

export class RecordingLogger implements StepLogger {
  public readonly lines: string[] = [];

  public info(message: string, attributes?: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: 'info', message, ...attributes }));
  }

  public warn(message: string, attributes?: Record<string, unknown>): void {
    this.lines.push(JSON.stringify({ level: 'warn', message, ...attributes }));
  }
}

/** A settable clock. */
export class FakeClock {
  public current: Date;

  public constructor(start = '2026-11-25T12:00:00.000Z') {
    this.current = new Date(start);
  }

  public now(): Date {
    return new Date(this.current);
  }

  public advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** A full set of fakes wired as StepDeps, with one enrolled client per entry of `clients`. */
export function fakeDeps(clients: Readonly<Record<string, ManagedClientSettings>>) {
  const stytch = new FakeStytch();
  const secrets = new FakeSecretStore();
  const ledger = new FakeLedger();
  const events = new FakeEventBus();
  const callbacks = new FakeCallbacks();
  const clock = new FakeClock();
  const logger = new RecordingLogger();
  const fingerprints = new FakeFingerprints();
  const metrics = new RecordingMetrics();
  const workflow = new FakeWorkflow();
  const executions = new FakeExecutions();
  for (const clientId of Object.keys(clients)) {
    const secret = randomBytes(33).toString('base64url');
    stytch.register(clientId, secret);
    secrets.seed(clientId, {
      projectId: 'project-test-1',
      clientId,
      clientSecret: new Secret(secret),
      tokenUrl: 'http://127.0.0.1/v1/public/project-test-1/oauth2/token',
    });
  }
  const deps: StepDeps = {
    stytch,
    secrets,
    ledger,
    events,
    callbacks,
    clock,
    logger,
    clients: {
      find: async (clientId) => clients[clientId],
      ids: async () => Object.keys(clients),
    },
    fingerprints,
    metrics,
    workflow,
    executions,
  };
  return {
    deps,
    stytch,
    secrets,
    ledger,
    events,
    callbacks,
    clock,
    logger,
    fingerprints,
    metrics,
    workflow,
    executions,
  };
}
