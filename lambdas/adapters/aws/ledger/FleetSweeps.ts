import * as z from 'zod';
import type { DriftSamples } from '#core/fleetDrift.js';
import type { FleetSweepRecord, FleetSweepStorePort } from '#core/fleetSweep.js';
import { LedgerItemFormatError } from '../errors.js';
import { definedFields, LedgerTable, type LedgerTableProps, parseItem } from './ledgerTable.js';

/** Partition key of the fleet's own items (it holds `#`, which no client id does). */
export const FLEET_PK = 'FLEET#';
/** Sort key of the last fleet sweep's item. */
export const FLEET_SWEEP_SK = 'SWEEP';

const count = z.number().int().min(0);
const ids = z.array(z.string()).max(100);
const FleetSweepItemSchema = z.object({
  sweptAt: z.string(),
  managedClients: count,
  unmeasured: count,
  overdue: count,
  midRotationAtStytch: count.nullable(),
  missingAtStytch: count.nullable(),
  unmanaged: count.nullable(),
  samples: z.object({
    overdue: ids,
    midRotationAtStytch: ids,
    missingAtStytch: ids,
    unmanaged: ids,
  }),
  stytchProblem: z.string().optional(),
});

/**
 * {@link FleetSweepStorePort} over the ledger table: the last sweep is one item, `pk=FLEET#,
 * sk=SWEEP`, replaced by each later sweep (`sweptAtMs`, epoch ms, is what the condition compares,
 * so a retried or late run never replaces a newer sweep). It holds counts and up to 20 client ids
 * per kind: no secret.
 */
export class FleetSweeps implements FleetSweepStorePort {
  readonly #table: LedgerTable;

  public constructor(props: LedgerTableProps) {
    this.#table = new LedgerTable(props);
  }

  /** One conditional PutItem: written unless the item holds a later sweep. */
  public async putFleetSweep(record: FleetSweepRecord): Promise<boolean> {
    const sweptAtMs = Date.parse(record.sweptAt);
    if (Number.isNaN(sweptAtMs)) {
      throw new LedgerItemFormatError('fleet sweep', ['sweptAt: invalid_date']);
    }
    const put = await this.#table.put({
      Item: { pk: FLEET_PK, sk: FLEET_SWEEP_SK, ...definedFields(record), sweptAtMs },
      ConditionExpression: 'attribute_not_exists(pk) OR sweptAtMs <= :mine',
      ExpressionAttributeValues: { ':mine': sweptAtMs },
    });
    return put.written;
  }

  /** The last sweep, or null before the first one. One GetItem. */
  public async getFleetSweep(): Promise<FleetSweepRecord | null> {
    const item = await this.#table.get(FLEET_PK, FLEET_SWEEP_SK);
    if (item === undefined) return null;
    const stored = parseItem(FleetSweepItemSchema, item, `${FLEET_PK}/${FLEET_SWEEP_SK}`);
    const samples: DriftSamples = stored.samples;
    return {
      sweptAt: stored.sweptAt,
      managedClients: stored.managedClients,
      unmeasured: stored.unmeasured,
      overdue: stored.overdue,
      midRotationAtStytch: stored.midRotationAtStytch,
      missingAtStytch: stored.missingAtStytch,
      unmanaged: stored.unmanaged,
      samples,
      ...(stored.stytchProblem === undefined ? {} : { stytchProblem: stored.stytchProblem }),
    };
  }
}
