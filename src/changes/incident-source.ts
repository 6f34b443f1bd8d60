// Open incidents as the gate sees them, read from the store where the incidents feature keeps them.
import type { Store, StoredRecord } from '../store/store.js';
import type { IncidentSource, OpenIncident } from './types.js';

interface IncidentRecord extends StoredRecord {
  service: string;
  severity: number;
  title: string;
  status: string;
}

/** Incidents in the `incidents` collection whose status is anything but resolved. */
export function storeIncidentSource(store: Store): IncidentSource {
  return {
    openFor: async (service): Promise<OpenIncident[]> =>
      (
        await store.list<IncidentRecord>('incidents', (i) => i.service === service && i.status !== 'resolved')
      ).map((i) => ({
        id: i.id,
        severity: i.severity,
        title: i.title,
      })),
  };
}
