// Alert auto-remediation across three replicas on one PostgreSQL: the same Alertmanager notification
// reaching every replica at once files one change; a replica still filing holds its claim; a claim
// whose replica died before filing is reported as abandoned once, and never filed a second time.
import type { ChangeService } from '../../src/changes/change-service.js';
import type { AuditEntry, AuditLog } from '../../src/core/audit.js';
import type { AccessPolicy } from '../../src/core/context.js';
import { EventBus } from '../../src/core/events.js';
import { silentLogger } from '../../src/core/index.js';
import { alertmanagerSchema, webhookSchema } from '../../src/incidents/alert-schema.js';
import type { IncidentService } from '../../src/incidents/incident-service.js';
import { AlertIntake, type RemediationAbandoned } from '../../src/incidents/index.js';
import type { PostgresStore } from '../../src/store/postgres-store.js';
import { describeWithPostgres, type ReplicaStores, replicaStores } from '../helpers/postgres.js';

const HAND_OVER_MS = 400;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const config = alertmanagerSchema.parse({
  bearerToken: 'am-token-0123456789',
  rules: [{ match: { alertname: 'CheckoutDown' }, autoRemediate: { runbook: 'restart-deployment' } }],
});

/** One firing as Alertmanager's webhook v4 carries it (same fingerprint and startsAt on every resend). */
function notification(fingerprint: string, status: 'firing' | 'resolved' = 'firing') {
  return webhookSchema.parse({
    version: '4',
    status,
    receiver: 'millwright',
    groupKey: '{}:{alertname="CheckoutDown"}',
    groupLabels: { alertname: 'CheckoutDown' },
    commonLabels: { alertname: 'CheckoutDown' },
    alerts: [
      {
        status,
        labels: { alertname: 'CheckoutDown', service: 'checkout', severity: 'warning' },
        annotations: { summary: 'checkout is down' },
        startsAt: '2026-12-04T10:00:00Z',
        fingerprint,
      },
    ],
  });
}

describeWithPostgres('alert auto-remediation across replicas', () => {
  let replicas: ReplicaStores;
  let stores: PostgresStore[];
  /** Change requests filed, by any replica; `hold` keeps the next ones waiting until released. */
  let filed: string[];
  let hold: Promise<void> | undefined;
  let abandoned: RemediationAbandoned[];

  beforeAll(async () => {
    replicas = await replicaStores(3);
    stores = replicas.stores;
  }, 60_000);
  afterAll(() => replicas?.close());
  beforeEach(() => {
    filed = [];
    hold = undefined;
    abandoned = [];
  });

  /** Replica `i`'s intake: its own store (pool), a change service that records what it is asked to file. */
  function replica(i: number) {
    const events = new EventBus(silentLogger());
    events.on('alert.remediation-abandoned', (event) => void abandoned.push(event));
    const changes = {
      request: async (_origin: unknown, input: { runbook?: string; reason?: string }) => {
        await hold;
        filed.push(`${input.runbook} (${input.reason})`);
        return { id: `CR-${filed.length}`, state: 'approved' };
      },
    } as unknown as ChangeService;
    const audit = { append: async (entry: AuditEntry) => entry } as unknown as AuditLog;
    return new AlertIntake({
      config,
      audit,
      store: stores[i]!,
      clock: { now: () => new Date() },
      logger: silentLogger(),
      changes,
      incidents: {} as IncidentService,
      access: { rolesFor: () => ['operator'] } as unknown as AccessPolicy,
      channelOf: () => 'C0CHECKOUT',
      notices: { available: false },
      events,
      handOverMs: HAND_OVER_MS,
    });
  }

  it('files one change when the same notification reaches three replicas at once', async () => {
    const intakes = [0, 1, 2].map(replica);
    const outcomes = await Promise.all(
      intakes.map((intake, i) => intake.receive(notification('a1'), `ref-${i}`)),
    );
    expect(filed).toEqual(['restart-deployment (alert CheckoutDown (a1))']);
    const actions = outcomes.map((outcome) => outcome[0]!.actions);
    expect(actions.filter((list) => list.includes('change CR-1 approved'))).toHaveLength(1);
    expect(actions.filter((list) => list.includes('duplicate'))).toHaveLength(2);
  });

  it('lets a live replica finish a slow filing; a resend meanwhile neither files again nor cries abandoned', async () => {
    let release!: () => void;
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const slow = replica(0).receive(notification('b2'), 'ref-slow');
    // Three hand-over periods later the filing is still waiting on the gate; its lease is renewed.
    await sleep(3 * HAND_OVER_MS);
    const resend = await replica(1).receive(notification('b2'), 'ref-resend');
    expect(resend[0]!.actions).toEqual(['duplicate']);
    release();
    expect((await slow)[0]!.actions).toContain('change CR-1 approved');
    expect(filed).toHaveLength(1);
    expect(abandoned).toEqual([]);
  });

  it('reports a claim whose replica died before filing as abandoned, once, and never files it', async () => {
    // What a replica killed between its claim and the change request leaves: the firing's record
    // with the claim, and a lease nobody renews (expired after handOverAfter).
    expect(
      await stores[0]!.tryLock(
        'alert-remediation:c3@2026-12-04T10:00:00Z:restart-deployment',
        'dead',
        HAND_OVER_MS,
      ),
    ).toBe(true);
    await stores[0]!.put('alerts', {
      id: 'c3@2026-12-04T10:00:00Z',
      fingerprint: 'c3',
      service: 'checkout',
      status: 'firing',
      firstSeen: new Date().toISOString(),
      actions: [],
      remediations: {
        'restart-deployment': { state: 'claimed', by: 'web-2:4242:abcdef', at: new Date().toISOString() },
      },
    });
    // Within the hand-over bound the holder might still be filing: nothing is said yet.
    expect((await replica(1).receive(notification('c3'), 'ref-early'))[0]!.actions).toEqual(['duplicate']);
    await sleep(HAND_OVER_MS + 100);
    const [late, again] = await Promise.all([
      replica(1).receive(notification('c3'), 'ref-late'),
      replica(2).receive(notification('c3'), 'ref-again'),
    ]);
    const told = [...late[0]!.actions, ...again[0]!.actions].filter((action) =>
      action.startsWith('remediation abandoned'),
    );
    expect(told).toEqual([
      'remediation abandoned: restart-deployment (claimed by web-2:4242:abcdef, which stopped before filing it)',
    ]);
    expect(abandoned).toHaveLength(1);
    expect(abandoned[0]).toMatchObject({
      runbook: 'restart-deployment',
      channel: 'C0CHECKOUT',
      service: 'checkout',
    });
    // The resolve is told as usual, and still nothing is filed.
    expect((await replica(0).receive(notification('c3', 'resolved'), 'ref-resolved'))[0]!.actions).toEqual([
      'resolved',
    ]);
    expect(filed).toEqual([]);
    const record = await stores[2]!.get<{
      id: string;
      remediations: Record<string, { state: string }>;
      retainUntil?: string;
    }>('alerts', 'c3@2026-12-04T10:00:00Z');
    expect(record?.remediations['restart-deployment']?.state).toBe('abandoned');
    // Kept a week after it resolved, then swept.
    expect(Date.parse(record!.retainUntil!) - Date.now()).toBeGreaterThan(6 * 86_400_000);
  });
});
