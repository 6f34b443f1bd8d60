// The notices module: subscribes to the domain events people must hear of (change outcomes, declared
// incidents, alerts, break-glass runs), renders them and posts them through the running surfaces.
import { defineModule } from '../core/module.js';

export const noticesModule = defineModule({
  name: 'notices',
  needs: ['events', 'notices', 'incidents', 'runbooks', 'actions'],
  uses: ['slo'],
  async create({ services, clock, logger, onClose }) {
    const [
      { sloIncidentNumbers },
      { AlertNotices, remediationAbandonedNotice },
      { breakGlassNotice },
      { budgetPolicyNotice },
      { changeTransitionNotice, verificationFailedNotice },
      { gateAwaitingNotice },
      { postIncidentBrief },
      { postNotice },
      { ReleaseNotices },
      { releaseChart },
    ] = await Promise.all([
      import('../incidents/slo-numbers.js'),
      import('./alert-notices.js'),
      import('./break-glass-notices.js'),
      import('./budget-policy-notices.js'),
      import('./change-notices.js'),
      import('./gate-notices.js'),
      import('./incident-notices.js'),
      import('./post.js'),
      import('./release-notices.js'),
      import('../releases/chart.js'),
    ]);
    const { events, notices, incidents, runbooks, actions, slo } = services;
    const log = logger.child({ part: 'notices' });
    const changeFailure = (id: string) => ({
      fields: { change: id },
      message: 'change notice could not be posted',
    });
    const alerts = new AlertNotices({
      notices,
      runbooks,
      actions,
      numbers: slo ? sloIncidentNumbers(slo) : undefined,
      clock,
      logger: log,
    });
    const releases = new ReleaseNotices({
      notices,
      actions,
      clock,
      logger: log,
      chart: (release) => releaseChart(release),
    });
    const subscriptions = [
      events.on('release.changed', (event) => releases.changed(event)),
      events.on('change.transitioned', async (event) => {
        const notice = changeTransitionNotice(event);
        if (notice)
          await postNotice(notices, log, event.change.channel, notice, changeFailure(event.change.id));
      }),
      events.on('change.verification-failed', async (event) => {
        const notice = verificationFailedNotice(event);
        await postNotice(notices, log, event.change.channel, notice, changeFailure(event.change.id));
        // A change left broken (no rollback, or one that failed) pages the owners where they live.
        if (event.reason === 'regressed' && event.rollback.status !== 'succeeded')
          for (const owners of event.owners)
            await postNotice(notices, log, owners, notice, changeFailure(event.change.id));
      }),
      events.on('budget-policy.transitioned', async (event) => {
        const notice = budgetPolicyNotice(event);
        for (const target of event.targets)
          await postNotice(notices, log, target, notice, {
            fields: { service: event.record.service, target },
            message: 'error-budget policy notice could not be posted',
          });
      }),
      events.on('gate.awaiting-approval', async (event) => {
        const notice = gateAwaitingNotice(event);
        await postNotice(notices, log, event.change.channel, notice, changeFailure(event.change.id));
      }),
      events.on('incident.declared', (event) =>
        postIncidentBrief(event, { notices, incidents, logger: log }),
      ),
      events.on('alert.firing', (event) => alerts.firing(event)),
      events.on('alert.resolved', (event) => alerts.resolved(event)),
      events.on('alert.remediation-abandoned', async (event) => {
        if (!event.channel) return;
        await postNotice(notices, log, event.channel, remediationAbandonedNotice(event), {
          fields: { fingerprint: event.alert.fingerprint, runbook: event.runbook },
          message: 'abandoned remediation notice could not be posted',
        });
      }),
      events.on('runbook.break-glass', async (event) => {
        if (!event.target) return;
        await postNotice(notices, log, event.target, breakGlassNotice(event), {
          fields: { target: event.target },
          message: 'break-glass notice could not be posted',
        });
      }),
    ];
    onClose(async () => {
      for (const unsubscribe of subscriptions) unsubscribe();
    });
    return undefined;
  },
});
