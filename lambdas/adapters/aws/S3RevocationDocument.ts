import type { S3Client } from '@aws-sdk/client-s3';
import {
  MAX_REVOCATION_DOCUMENT_BYTES,
  parseRevocationDocument,
  REVOCATION_DOCUMENT_KEY,
  RevocationDocumentFormatError,
  type RevocationDocumentPort,
  type StoredRevocations,
} from '#core/tokenRevocation.js';
import { awsErrorCode, wrapAwsError } from './errors.js';
import { s3Sdk } from './sdk/s3.js';

/** Props of {@link S3RevocationDocument}. */
export interface S3RevocationDocumentProps {
  /** Built once per container. */
  readonly client: S3Client;
  /** The bucket the stack created for the document. */
  readonly bucketName: string;
  /** @default REVOCATION_DOCUMENT_KEY ('token-revocations.json') */
  readonly key?: string;
}

/**
 * How long a reader's HTTP cache may keep the document without asking again: none. Resource
 * servers poll with a conditional GET (`If-None-Match: <ETag>`), which costs a 304 when unchanged.
 */
const CACHE_CONTROL = 'no-cache';

/**
 * {@link RevocationDocumentPort} on one S3 object. A read returns the object's ETag as its
 * version; a write is a conditional PutObject: `If-Match: <ETag>` over a document read,
 * `If-None-Match: *` when there was none. S3 answers a lost race with 412 Precondition Failed
 * (or 409 ConditionalRequestConflict while another conditional write is in flight): `'conflict'`,
 * and the caller reads again. No lock, no ledger item: S3 itself serializes the writers.
 */
export class S3RevocationDocument implements RevocationDocumentPort {
  readonly #client: S3Client;
  readonly #bucketName: string;
  readonly #key: string;

  public constructor(props: S3RevocationDocumentProps) {
    this.#client = props.client;
    this.#bucketName = props.bucketName;
    this.#key = props.key ?? REVOCATION_DOCUMENT_KEY;
  }

  /**
   * @throws {AwsServiceError} when S3 failed (other than the object not existing)
   */
  public async read(): Promise<StoredRevocations> {
    const { GetObjectCommand } = await s3Sdk();
    let text: string;
    let etag: string | null;
    try {
      const answer = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucketName, Key: this.#key }),
      );
      etag = answer.ETag ?? null;
      if ((answer.ContentLength ?? 0) > MAX_REVOCATION_DOCUMENT_BYTES) {
        // Not read: the body is dropped unread (its size is the finding).
        (answer.Body as { destroy?: () => void } | undefined)?.destroy?.();
        return {
          document: null,
          version: etag,
          malformed: [`${answer.ContentLength} bytes, over ${MAX_REVOCATION_DOCUMENT_BYTES}`],
        };
      }
      text = (await answer.Body?.transformToString('utf-8')) ?? '';
    } catch (error) {
      if (awsErrorCode(error) === 'NoSuchKey' || httpStatusOf(error) === 404) {
        return { document: null, version: null };
      }
      throw this.#wrap(error, 'GetObject');
    }
    try {
      return { document: parseRevocationDocument(text), version: etag };
    } catch (error) {
      if (!(error instanceof RevocationDocumentFormatError)) throw error;
      return { document: null, version: etag, malformed: error.issues };
    }
  }

  /**
   * @throws {AwsServiceError} when S3 failed otherwise than on the condition
   */
  public async write(body: string, expectedVersion: string | null): Promise<'written' | 'conflict'> {
    const { PutObjectCommand } = await s3Sdk();
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucketName,
          Key: this.#key,
          Body: body,
          ContentType: 'application/json',
          CacheControl: CACHE_CONTROL,
          ...(expectedVersion === null ? { IfNoneMatch: '*' } : { IfMatch: expectedVersion }),
        }),
      );
      return 'written';
    } catch (error) {
      const status = httpStatusOf(error);
      const code = awsErrorCode(error);
      if (status === 412 || code === 'PreconditionFailed') return 'conflict';
      if (status === 409 && code === 'ConditionalRequestConflict') return 'conflict';
      // If-Match on an object deleted meanwhile: the state read is gone, so is the race.
      if (expectedVersion !== null && (code === 'NoSuchKey' || status === 404)) return 'conflict';
      throw this.#wrap(error, 'PutObject');
    }
  }

  #wrap(error: unknown, operation: string) {
    return wrapAwsError(error, { service: 'S3', operation, resource: `${this.#bucketName}/${this.#key}` });
  }
}

/** The HTTP status of an SDK error's answer; null when none came. */
function httpStatusOf(error: unknown): number | null {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : null;
}
