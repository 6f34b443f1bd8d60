// audit [n=20] [actor=] [since=]: the most recent audit records, newest first; audit verify: the
// trail checked end to end, as `millwright audit verify` checks it.
import { auditSealingFrom, auditVerifyReport, verifyTrail } from '../src/audit/index.js';
import { context, defineCommand, formatWhen, type Reply, reply, table, text } from '../src/core/index.js';

export default defineCommand({
  name: 'audit',
  summary: 'List recent audit records (every command, decision and executor call)',
  examples: ['audit', 'audit n=50 actor=ana since=2h'],
  options: {
    n: { type: 'int', description: 'how many records', default: 20, min: 1, max: 500 },
    actor: { type: 'string', description: 'only records by this actor' },
    since: {
      type: 'time',
      description: 'only records after this time (2h means two hours ago, or an ISO time)',
    },
  },
  services: ['audit'],
  handler: async (ctx, args) => {
    const { n, actor, since } = args.options as { n: number; actor?: string; since?: Date };
    const records = await ctx.services.audit.recent({
      limit: n,
      ...(actor ? { actor } : {}),
      ...(since ? { since } : {}),
    });
    const now = ctx.clock.now();
    // Shape: docs/schemas/audit.schema.json. The trail already redacted the args before writing them.
    const data = {
      records: records.map((r) => ({
        seq: r.seq,
        ts: r.ts,
        actor: r.actor,
        via: r.via ?? null,
        surface: r.surface,
        channel: r.channel,
        action: r.action,
        args: r.args,
        outcome: r.outcome,
        code: r.code ?? null,
        reason: r.reason ?? null,
        ref: r.ref ?? null,
        keyId: r.keyId ?? null,
        prevHash: r.prevHash,
        hash: r.hash,
      })),
    };
    if (records.length === 0) return { ...reply(text('No audit records match.')), data };
    const answer = reply(
      text(`The last ${records.length} audit record${records.length === 1 ? '' : 's'}, newest first.`),
      table(
        ['seq', 'when', 'actor', 'where', 'action', 'outcome'],
        records.map((r) => [
          String(r.seq),
          formatWhen(new Date(r.ts), now),
          r.actor,
          `${r.surface}:${r.channel}`,
          r.action,
          r.code ? `${r.outcome} (${r.code})` : r.outcome,
        ]),
      ),
      context('The trail is hash-chained; `millwright audit verify` checks it end to end.'),
    );
    return { ...answer, data };
  },
  subcommands: {
    verify: {
      summary: 'Check the audit trail end to end: every hash, key and checkpoint',
      examples: ['audit verify'],
      services: ['audit'],
      handler: async (ctx): Promise<Reply> => {
        const { config } = ctx.services;
        // Everything appended so far is on disk before it is read back.
        await ctx.services.audit.flush();
        const options = auditSealingFrom(config.audit, config.store.path);
        // The trail is where the store keeps it: a file under store.path, or the table in PostgreSQL.
        const trail =
          config.store.kind === 'postgres' ? { db: ctx.services.postgres } : { file: config.audit.path };
        const report = auditVerifyReport(await verifyTrail(trail, options), options);
        // Shape: docs/schemas/audit-verify.schema.json, the same as millwright audit verify --json.
        return {
          ok: report.ok,
          blocks: [
            text(`*${report.lines[0]}*`),
            ...(report.lines.length > 1 ? [context(report.lines.slice(1).join('\n'))] : []),
          ],
          data: report.data,
          ...(report.error ? { error: report.error } : {}),
        };
      },
    },
  },
});
