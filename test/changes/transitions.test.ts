// The change state machine is one table: which state may go to which, and who may move it there.
// A move the table does not hold is refused with a message that says what is allowed instead.
import { assertMove, mayMove, moversOf, nextStates, PEOPLE, sourcesOf } from '../../src/changes/index.js';
import { ErrorCode, MillwrightError } from '../../src/core/index.js';

describe('the change transition table', () => {
  it('refuses an illegal transition with what the state allows instead', () => {
    const refusal = (() => {
      try {
        assertMove({ id: 'CR-7', state: 'pending-approval' }, 'executing', 'system');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(MillwrightError);
    expect((refusal as MillwrightError).code).toBe(ErrorCode.BadArgument);
    expect((refusal as MillwrightError).message).toBe(
      'CR-7 cannot go from pending-approval to executing; from pending-approval it may go to approved, denied, cancelled, expired',
    );
  });

  it('says a final state is final', () => {
    expect(() => assertMove({ id: 'CR-7', state: 'succeeded' }, 'executing', 'system')).toThrow(
      'CR-7 cannot go from succeeded to executing; succeeded is final',
    );
    expect(nextStates('cancelled')).toEqual([]);
  });

  it('refuses a legal transition to someone who may not make it', () => {
    expect(() => assertMove({ id: 'CR-7', state: 'pending-approval' }, 'expired', 'approver')).toThrow(
      'CR-7 goes from pending-approval to expired only by the system, not by the approver',
    );
    expect(() => assertMove({ id: 'CR-7', state: 'pending-approval' }, 'approved', 'approver')).not.toThrow();
  });

  it('never counts the requester as an approver of their own change', () => {
    const change = { requestedBy: 'cy', state: 'pending-approval' as const };
    expect(moversOf('cy', ['approver'], change, 'approver')).toEqual(['requester']);
    expect(moversOf('dee', ['approver'], change, 'approver')).toEqual(['approver']);
    expect(moversOf('bo', ['operator'], change, 'approver')).toEqual([]);
    expect(mayMove(change, 'approved', moversOf('cy', ['approver'], change, 'approver'))).toBe(false);
    expect(mayMove(change, 'denied', moversOf('cy', ['approver'], change, 'approver'))).toBe(true);
  });

  it('gives the person commands the states they accept', () => {
    expect(sourcesOf('approved', PEOPLE)).toEqual(['pending-approval']);
    expect(sourcesOf('denied', PEOPLE)).toEqual(['pending-approval', 'approved']);
    expect(sourcesOf('cancelled', PEOPLE)).toEqual(['pending-approval', 'approved']);
    expect(sourcesOf('verifying', PEOPLE)).toEqual(['in-progress']);
  });
});
