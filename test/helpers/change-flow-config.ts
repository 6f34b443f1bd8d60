// The config the multi-process store suites share: the change runbooks and a recording executor from
// test/fixtures, one service, everyone an operator; each suite picks the store (and any more sections).
import path from 'node:path';
import { ROOT } from './spawn.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/**
 * @example
 * await writeFile(config, changeFlowConfig('store: { path: ./data }'));
 */
export function changeFlowConfig(store: string, extra = ''): string {
  return `server: { host: 127.0.0.1, port: 0 }
${store}
${extra}runbooks: { dir: ${path.join(FIXTURES, 'runbooks', 'changes')} }
executors:
  - module: ${path.join(FIXTURES, 'executors', 'recorder-executor.mjs')}
    config: { callsFile: ./calls.jsonl }
services:
  checkout: {}
access:
  defaultRoles: [operator]
  roles:
    operator: { allow: ['*'] }
  subjects: {}
`;
}
