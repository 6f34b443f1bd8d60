// Verification's verdict on the burn after a change against the burn before it.
import { judgeBurn } from '../../src/changes/burn-evidence.js';
import type { BurnSnapshot } from '../../src/changes/types.js';

const before: BurnSnapshot = {
  slo: 'checkout-availability',
  burnState: 'ok',
  burnRates: { '5m': 0.5 },
  events5m: 1200,
};

describe('judgeBurn', () => {
  it('passes a change after which the service burns as before', () => {
    const after = { ...before, burnRates: { '5m': 0.6 }, events5m: 1150 };
    expect(judgeBurn([before], [after], 2, 100).regressed).toBe(false);
  });

  it('fails a change after which the service serves no requests at all (no series is not "no burn")', () => {
    const silent: BurnSnapshot = { slo: 'checkout-availability', burnState: 'ok', burnRates: {} };
    const verdict = judgeBurn([before], [silent], 2, 100);
    expect(verdict.regressed).toBe(true);
    expect(verdict.lines[0]).toContain('no requests measured in 5m after the change (1200 before)');
    const zero = judgeBurn([before], [{ ...silent, events5m: 0 }], 2, 100);
    expect(zero.regressed).toBe(true);
  });

  it('does not blame a change on a service that had too little traffic before to tell', () => {
    const quietBefore = { ...before, events5m: 20 };
    const silent: BurnSnapshot = {
      slo: 'checkout-availability',
      burnState: 'ok',
      burnRates: {},
      events5m: 0,
    };
    expect(judgeBurn([quietBefore], [silent], 2, 100).regressed).toBe(false);
  });

  it('still judges a rate on too few events as noise, when there are some', () => {
    const few = { ...before, burnRates: { '5m': 9 }, events5m: 40 };
    expect(judgeBurn([before], [few], 2, 100).regressed).toBe(false);
  });
});
