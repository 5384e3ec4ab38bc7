import { randomUUID } from 'node:crypto';
import { answerWaitIfDecided } from './decision.js';
import type { StepDeps } from './deps.js';
import { boundedSource, EVENT_SOURCES, SecretLeakDetectedDetailSchema } from './events.js';
import type { FingerprintEntry } from './fingerprint.js';
import type { ClientRef, LeakReportOutcome, RotationRecord } from './ports.js';
import { InvalidInputError } from './rotationErrors.js';
import { lockHolder } from './staleRotation.js';
import { parseOrThrow } from './validate.js';

/** The leak intake's deps: the steps' (it starts the workflow through `workflow`). */
export type LeakIntakeDeps = StepDeps;

/** What the leaked value is now: alive (current or pending) or already dead. */
export type LeakedStage = 'current' | 'pending' | 'dead';

/** What the intake did with one `Secret Leak Detected` event. */
export type LeakIntakeResult =
  | {
      readonly result: 'rotation_started';
      readonly clientId: string;
      readonly leaked: LeakedStage;
      readonly executionArn: string;
      readonly alreadyStarted: boolean;
    }
  | {
      readonly result: 'escalated';
      readonly clientId: string;
      readonly leaked: LeakedStage;
      readonly rotationId: string;
      /** `complete`: the rotation in progress completes at once; `cancel`: it is cancelled and a leak rotation follows. */
      readonly escalation: 'complete' | 'cancel';
    }
  | {
      readonly result: 'leak_rotation_running';
      readonly clientId: string;
      readonly leaked: 'current';
      /** The leak rotation already running: it revokes the leaked secret, so nothing changes. */
      readonly rotationId: string;
    }
  | { readonly result: 'already_dead'; readonly clientId: string }
  | {
      readonly result: 'refused';
      /** A report by client id from a sender that may not name a client (only an operator or the rotator may). */
      readonly reason: 'client_id_needs_operator';
    }
  | { readonly result: 'no_match' }
  | { readonly result: 'unknown_client'; readonly clientId: string };

/** The id and the fingerprint of a leak report name different clients. Permanent. */
export class LeakMismatchError extends InvalidInputError {
  public constructor(clientId: string, fingerprintClientId: string) {
    super('Secret Leak Detected event', [
      `clientId names ${clientId}, but the fingerprint is a secret of ${fingerprintClientId}`,
    ]);
    this.name = 'LeakMismatchError';
  }
}

/** A rotation can end between our read and our escalation; this many fresh looks settle it. */
const ESCALATION_ATTEMPTS = 3;

/**
 * The envelope sources that may report a leak by client id alone: an operator (`rotator leak
 * report`, `emergency`) and the rotator itself (a preemption's re-published leak). A report by
 * id proves nothing about the secret, so it needs the operator grant; a scanner, the webhook
 * included, reports the fingerprint of the value it found.
 */
const CLIENT_ID_SOURCES: ReadonlySet<string> = new Set([EVENT_SOURCES.operator, EVENT_SOURCES.rotator]);

/** The leak intake's view of one EventBridge event. */
export interface LeakEvent {
  /** The event id: the leak rotation is named after it (a redelivery starts nothing new). */
  readonly id?: unknown;
  /** The envelope `source`: who sent it, as IAM vouches (see `EVENT_SOURCES`). */
  readonly source?: unknown;
  readonly detail?: unknown;
}

/**
 * The leak intake, behind the `Secret Leak Detected` rule (which admits only the rotator's, the
 * webhook's, the operators' and the configured scanners' sources). A report naming the client by
 * id alone is refused unless an operator or the rotator sent it (result `refused`, logged,
 * recorded nowhere else). Otherwise it finds the client (by id, or by the fingerprint of the
 * leaked value), works out whether the leaked secret is still alive, and then:
 * - no rotation in progress: starts a leak rotation (named after the event, so a redelivery starts
 *   nothing new);
 * - a LEAK rotation in progress and the leaked secret is the current one (a second report, or a
 *   redelivery of the event that started it): records the report and changes nothing, so the
 *   consumers keep their window (the running rotation revokes that secret anyway);
 * - another rotation in progress and the leaked secret is the current one: has it complete at once;
 * - a rotation in progress (a leak rotation too) and the leaked secret is its pending one: has it
 *   cancel (the cancellation then sends the leak back here, and a leak rotation starts with the
 *   lock free): a leaked pending secret must never become current.
 * Never two rotations of one client at once: the per-client lock stays the only way in.
 */
export async function handleLeak(deps: LeakIntakeDeps, event: LeakEvent): Promise<LeakIntakeResult> {
  const detail = parseOrThrow(SecretLeakDetectedDetailSchema, event.detail, 'Secret Leak Detected event');
  const sender = typeof event.source === 'string' ? event.source : undefined;
  const fromOperator = sender !== undefined && CLIENT_ID_SOURCES.has(sender);
  if (detail.fingerprint === undefined && !fromOperator) {
    deps.logger.warn('Leak report by client id refused: only an operator or the rotator may name a client', {
      clientId: detail.clientId,
      source: boundedSource(event.source),
    });
    return { result: 'refused', reason: 'client_id_needs_operator' };
  }
  const eventId =
    typeof event.id === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(event.id) ? event.id : randomUUID();
  const receivedAt = deps.clock.now().toISOString();

  const found = detail.fingerprint === undefined ? null : await findByFingerprint(deps, detail.fingerprint);
  if (detail.fingerprint !== undefined && found === null) {
    deps.logger.warn('Leak report matches no managed secret', {
      fingerprintPrefix: detail.fingerprint.slice(0, 12),
      source: detail.source,
    });
    return { result: 'no_match' };
  }
  if (found !== null && detail.clientId !== undefined && detail.clientId !== found.clientId) {
    throw new LeakMismatchError(detail.clientId, found.clientId);
  }
  const clientId = found?.clientId ?? detail.clientId;
  // The schema requires one of the two; this keeps the compiler and a future schema honest.
  if (clientId === undefined) throw new InvalidInputError('Secret Leak Detected event', ['names no client']);
  const settings = await deps.clients.find(clientId);
  if (settings === undefined) {
    deps.logger.warn('Leak report for a client the rotator does not manage', {
      clientId,
      source: detail.source,
    });
    return { result: 'unknown_client', clientId };
  }
  const client: ClientRef = { clientId, kind: settings.kind };
  // Who asked is the sender's word: taken from an operator (or the rotator), ignored from a scanner.
  const reported = await scrubbedReport(deps, client, {
    source: detail.source,
    ...(detail.reference === undefined ? {} : { reference: detail.reference }),
    ...(detail.requestedBy === undefined || !fromOperator ? {} : { requestedBy: detail.requestedBy }),
  });
  const result = await act(deps, client, found, eventId, reported);
  await recordReport(deps, { client, eventId, receivedAt, detail, reported, result });
  return result;
}

/** Starts a leak rotation, or escalates the rotation in progress, or finds the secret already dead. */
async function act(
  deps: LeakIntakeDeps,
  client: ClientRef,
  found: Pick<FingerprintEntry, 'clientId' | 'versionId'> | null,
  eventId: string,
  detail: ReportedText,
): Promise<LeakIntakeResult> {
  const clientId = client.clientId;
  for (let attempt = 1; ; attempt += 1) {
    // A report by id only means "this client's secret leaked": the one in use, the current one.
    const leaked = found === null ? 'current' : await liveStage(deps, client, found.versionId);
    const active = await activeRotation(deps, clientId);
    if (leaked === 'dead') {
      deps.logger.info('Leaked secret is already revoked', { clientId, source: detail.source });
      return { result: 'already_dead', clientId };
    }
    if (active === null || (leaked === 'pending' && active.pendingVersionId !== found?.versionId)) {
      return startLeakRotation(deps, client, leaked, eventId, detail);
    }
    if (leaked === 'current' && active.trigger === 'leak') {
      // Completing it at once would only cut the consumers' window: it revokes this secret anyway.
      deps.logger.info('Leak of the current secret reported while a leak rotation runs: nothing changes', {
        clientId,
        rotationId: active.rotationId,
        source: detail.source,
      });
      return { result: 'leak_rotation_running', clientId, leaked, rotationId: active.rotationId };
    }
    const escalation = leaked === 'pending' ? 'cancel' : 'complete';
    const escalated = await deps.ledger.escalateRotation(
      clientId,
      active.rotationId,
      escalation,
      deps.clock.now().toISOString(),
    );
    if (escalated !== null) {
      await answerWaitIfDecided(deps, escalated);
      deps.logger.warn('Leak preempts the rotation in progress', {
        clientId,
        rotationId: active.rotationId,
        trigger: active.trigger,
        leaked,
        escalation,
        source: detail.source,
      });
      return { result: 'escalated', clientId, leaked, rotationId: active.rotationId, escalation };
    }
    // It ended between our read and our write: look again (the lock is free, or another holds it).
    if (attempt >= ESCALATION_ATTEMPTS) {
      return startLeakRotation(deps, client, leaked, eventId, detail);
    }
  }
}

/** A report's outsider text, scrubbed: what the rotation's reason and the ledger keep of it. */
interface ReportedText {
  readonly source: string;
  readonly reference?: string | undefined;
  /** The person behind an operator's report (absent from any other sender). */
  readonly requestedBy?: string | undefined;
}

/** What stands in for a secret value found in a report's text. */
const REDACTED = '[redacted]';
/** Real secrets are long; redacting a very short value would only mangle the text. */
const MIN_REDACTED_LENGTH = 8;

/**
 * The report's source, reference and requester without any secret of the client's in them (a
 * responder may paste the leaked value where the reference goes), and well-formed (a lone
 * surrogate would fail the ledger's UTF-8 encoding). Controls stay: every printer escapes them
 * (the CLI's `forTerminal`/`jsonLine`), and a program reading `--json` gets the text as it was sent.
 */
async function scrubbedReport(
  deps: LeakIntakeDeps,
  client: ClientRef,
  detail: ReportedText,
): Promise<ReportedText> {
  const secrets: string[] = [];
  for (const stage of ['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS'] as const) {
    const value = (await deps.secrets.read(client, stage))?.clientSecret.reveal();
    if (value !== undefined && value.length >= MIN_REDACTED_LENGTH) secrets.push(value);
  }
  const scrub = (text: string): string =>
    secrets.reduce((scrubbed, secret) => scrubbed.split(secret).join(REDACTED), text).toWellFormed();
  return {
    source: scrub(detail.source),
    ...(detail.reference === undefined ? {} : { reference: scrub(detail.reference) }),
    ...(detail.requestedBy === undefined ? {} : { requestedBy: scrub(detail.requestedBy) }),
  };
}

/**
 * Records an accepted report (rotation started, escalated, already dead) in the ledger, once per
 * event: the ledger keeps the first delivery's record. A failed write fails the intake, and the
 * redelivered event finds its rotation started already (named after the event) or its escalation
 * kept, so it records the report then.
 */
async function recordReport(
  deps: LeakIntakeDeps,
  report: {
    readonly client: ClientRef;
    readonly eventId: string;
    readonly receivedAt: string;
    readonly detail: { readonly fingerprint?: string | undefined };
    readonly reported: ReportedText;
    readonly result: LeakIntakeResult;
  },
): Promise<void> {
  const { result, detail, reported } = report;
  let outcome: LeakReportOutcome;
  let leaked: LeakedStage;
  if (result.result === 'rotation_started') {
    outcome = { result: 'rotation_started', executionArn: result.executionArn };
    leaked = result.leaked;
  } else if (result.result === 'escalated') {
    outcome = { result: 'escalated', rotationId: result.rotationId, escalation: result.escalation };
    leaked = result.leaked;
  } else if (result.result === 'already_dead') {
    outcome = { result: 'already_dead' };
    leaked = 'dead';
  } else if (result.result === 'leak_rotation_running') {
    outcome = { result: 'leak_rotation_running', rotationId: result.rotationId };
    leaked = result.leaked;
  } else {
    return;
  }
  const recorded = await deps.ledger.recordLeakReport({
    clientId: report.client.clientId,
    eventId: report.eventId,
    receivedAt: report.receivedAt,
    source: reported.source,
    ...(reported.reference === undefined ? {} : { reference: reported.reference }),
    ...(detail.fingerprint === undefined
      ? { matchedBy: 'client_id' as const }
      : { matchedBy: 'fingerprint' as const, fingerprintPrefix: detail.fingerprint.slice(0, 12) }),
    leaked,
    outcome,
  });
  if (!recorded) {
    deps.logger.info('Leak report already recorded (a redelivered event)', {
      clientId: report.client.clientId,
      eventId: report.eventId,
    });
  }
}

/** The fingerprint's owner: the ledger's index, else every managed client's live secrets. */
async function findByFingerprint(
  deps: LeakIntakeDeps,
  fingerprint: string,
): Promise<Pick<FingerprintEntry, 'clientId' | 'versionId'> | null> {
  const entry = await deps.ledger.findFingerprint(fingerprint);
  if (entry !== null) return entry;
  // Not indexed: a client enrolled before fingerprints were kept and never rotated since. Its
  // current read indexes it, so each client is scanned like this at most once.
  for (const clientId of await deps.clients.ids()) {
    const settings = await deps.clients.find(clientId);
    if (settings === undefined) continue;
    const client: ClientRef = { clientId, kind: settings.kind };
    const versions = await deps.secrets.versions(client);
    for (const [stage, versionId] of [
      ['AWSCURRENT', versions.currentVersionId],
      ['AWSPENDING', versions.pendingVersionId],
    ] as const) {
      if (versionId === null) continue;
      const value = await deps.secrets.read(client, stage);
      if (value !== null && (await deps.fingerprints.fingerprint(value.clientSecret)) === fingerprint) {
        return { clientId, versionId };
      }
    }
  }
  return null;
}

/** What the version holding the leaked secret is now, by the secret store's labels (the authority). */
async function liveStage(deps: LeakIntakeDeps, client: ClientRef, versionId: string): Promise<LeakedStage> {
  const versions = await deps.secrets.versions(client);
  if (versions.currentVersionId === versionId) return 'current';
  if (versions.pendingVersionId === versionId) return 'pending';
  return 'dead';
}

/**
 * The rotation holding the client's unexpired lock, while it has not ended and its execution still
 * runs. A lock left by a stopped or failed execution is not a rotation to escalate (its task token
 * is dead): the leak rotation started instead takes the lock over (see StartRotation).
 */
async function activeRotation(deps: LeakIntakeDeps, clientId: string): Promise<RotationRecord | null> {
  const lock = await deps.ledger.getLock(clientId);
  if (lock === null || Date.parse(lock.expiresAt) <= deps.clock.now().getTime()) return null;
  const holder = await lockHolder(deps, lock);
  const record = holder.record;
  if (!holder.alive || record === null || (record.status !== 'started' && record.status !== 'pending')) {
    return null;
  }
  return record;
}

async function startLeakRotation(
  deps: LeakIntakeDeps,
  client: ClientRef,
  leaked: LeakedStage,
  eventId: string,
  detail: ReportedText,
): Promise<LeakIntakeResult> {
  const reason = `leak reported by ${detail.source}${detail.reference === undefined ? '' : `: ${detail.reference}`}`;
  const started = await deps.workflow.start(`leak-${eventId}`, {
    clientId: client.clientId,
    trigger: 'leak',
    reason: reason.slice(0, 500),
    requestedBy: detail.requestedBy ?? detail.source,
  });
  deps.logger.warn('Leak rotation started', {
    clientId: client.clientId,
    leaked,
    executionArn: started.executionArn,
    alreadyStarted: started.alreadyStarted,
    source: detail.source,
  });
  return {
    result: 'rotation_started',
    clientId: client.clientId,
    leaked,
    executionArn: started.executionArn,
    alreadyStarted: started.alreadyStarted,
  };
}
