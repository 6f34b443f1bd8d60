// Template references that once went wrong, each the minimal counterexample a property test found.
import { runbookSchema, validateParams } from '../../src/runbooks/index.js';
import { findReferences, render } from '../../src/runbooks/template.js';

const empty = { params: {}, steps: {} };

describe('runbook template references named like Object.prototype members', () => {
  it('renders {{ params.constructor }} as an unset parameter, not as Object', () => {
    expect(render({ '': '{{params.constructor}}' }, empty)).toEqual({ '': undefined });
    expect(render('replicas: {{ params.toString }}', empty)).toBe('replicas: ');
  });

  it('renders {{ steps.constructor.outputs.A }} as unset instead of throwing a TypeError', () => {
    expect(render('{{steps.constructor.outputs.A}}', empty)).toBeUndefined();
    expect(
      render('{{ steps.check.outputs.hasOwnProperty }}', { params: {}, steps: { check: { outputs: {} } } }),
    ).toBeUndefined();
  });

  it('still renders parameters and outputs that really have those names', () => {
    const scope = { params: { constructor: 'ctor' }, steps: { check: { outputs: { toString: 'ok' } } } };
    expect(render('{{ params.constructor }}/{{ steps.check.outputs.toString }}', scope)).toBe('ctor/ok');
  });
});

describe('render agrees with what lint found', () => {
  it('renders {{ steps.0.outputs.A }}}} as the reference followed by }}, as findReferences reads it', () => {
    const value = '{{steps.0.outputs.A}}}}';
    expect(findReferences(value)).toEqual([
      { kind: 'step', step: '0', output: 'A', text: 'steps.0.outputs.A' },
    ]);
    expect(render(value, { params: {}, steps: { '0': { outputs: { A: 'up' } } } })).toBe('up}}');
  });

  it('keeps the type of a value that is exactly one reference', () => {
    expect(render('{{ params.replicas }}', { params: { replicas: 3 }, steps: {} })).toBe(3);
  });
});

describe('runbook parameters named like Object.prototype members', () => {
  const runbook = runbookSchema.parse({
    apiVersion: 'millwright/v1',
    kind: 'Runbook',
    metadata: { name: 'tune', description: 'tunes' },
    spec: {
      params: [{ name: 'constructor', type: 'string', description: 'an optional label' }],
      steps: [{ uses: 'http.get', with: { url: 'https://example.test' } }],
    },
  });

  it('leaves an optional parameter named constructor unset when a plain object omits it', () => {
    expect(validateParams(runbook, {})).toEqual({});
  });
});
