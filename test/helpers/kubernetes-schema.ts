// Checks Kubernetes objects against the API's own models, as @kubernetes/client-node generates them
// from the Kubernetes OpenAPI spec: every field known and of its type, every required field present.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as models from '@kubernetes/client-node';

interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}
type Model = { getAttributeTypeMap(): Attribute[] };

/** The apiVersion each kind Millwright ships is served under. */
const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  Service: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  PersistentVolumeClaim: 'v1',
  Deployment: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
};

const MODELS_DIR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')),
  'gen',
  'models',
);
const requiredCache = new Map<string, Set<string>>();

/** Fields the generated declaration marks required (`'name': string;`, no `?`), from the OpenAPI spec. */
function requiredFields(type: string): Set<string> {
  let required = requiredCache.get(type);
  if (!required) {
    const declaration = readFileSync(path.join(MODELS_DIR, `${type}.d.ts`), 'utf8');
    required = new Set([...declaration.matchAll(/^ {4}'([A-Za-z0-9_$]+)': /gm)].map((m) => m[1] ?? ''));
    requiredCache.set(type, required);
  }
  return required;
}

function modelOf(type: string): Model | undefined {
  const candidate = (models as unknown as Record<string, unknown>)[type];
  return typeof candidate === 'function' && 'getAttributeTypeMap' in candidate
    ? (candidate as Model)
    : undefined;
}

const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;

/**
 * Every problem of one object against its kind's model, as `path: message`; empty when it conforms.
 *
 * @example
 * schemaProblems({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { prots: [] } })
 * // ['Service x.spec.prots: unknown field']
 */
export function schemaProblems(object: Record<string, unknown>): string[] {
  const kind = String(object.kind);
  const name = String((object.metadata as { name?: unknown } | undefined)?.name ?? '?');
  const where = `${kind} ${name}`;
  const expected = API_VERSIONS[kind];
  if (!expected) return [`${where}: kind ${kind} is not one this check knows`];
  if (object.apiVersion !== expected)
    return [`${where}: apiVersion ${String(object.apiVersion)}, expected ${expected}`];
  const problems: string[] = [];
  check(object, `V1${kind}`, where, problems);
  return problems;
}

function check(value: unknown, type: string, at: string, problems: string[], format = ''): void {
  const array = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) problems.push(`${at}: expected a list`);
    else {
      for (const [i, item] of value.entries()) check(item, array[1] ?? 'any', `${at}[${i}]`, problems);
    }
    return;
  }
  if (map) {
    if (!isObject(value)) problems.push(`${at}: expected a map`);
    else
      for (const [key, item] of Object.entries(value)) check(item, map[1] ?? 'any', `${at}.${key}`, problems);
    return;
  }
  switch (type) {
    case 'any':
    case 'object':
      return;
    case 'string':
      if (typeof value !== 'string') problems.push(`${at}: expected a string, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean')
        problems.push(`${at}: expected true or false, got ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number' || (format.startsWith('int') && !Number.isInteger(value)))
        problems.push(`${at}: expected ${format || 'a number'}, got ${JSON.stringify(value)}`);
      return;
    case 'Date':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
        problems.push(`${at}: expected a date-time`);
      return;
    case 'IntOrString':
      if (typeof value !== 'string' && !Number.isInteger(value))
        problems.push(`${at}: expected a port number or name`);
      return;
  }
  const model = modelOf(type);
  if (!model) {
    problems.push(`${at}: no model ${type} in @kubernetes/client-node`);
    return;
  }
  if (!isObject(value)) {
    problems.push(`${at}: expected an object (${type})`);
    return;
  }
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a]));
  for (const [key, item] of Object.entries(value)) {
    const attribute = attributes.get(key);
    if (!attribute)
      problems.push(`${at}.${key}: unknown field (${type} has ${[...attributes.keys()].join(', ')})`);
    else if (item !== null) check(item, attribute.type, `${at}.${key}`, problems, attribute.format);
  }
  for (const field of requiredFields(type)) {
    const attribute = [...attributes.values()].find((a) => a.name === field);
    if (attribute && !(attribute.baseName in value)) problems.push(`${at}.${attribute.baseName}: required`);
  }
  // Quantities (resources, sizeLimit, storage) are strings the API parses; a typo is a 422 at apply.
  if (type === 'V1ResourceRequirements' || type === 'V1VolumeResourceRequirements') {
    for (const part of ['requests', 'limits'] as const) {
      for (const [resource, quantity] of Object.entries((value[part] as Record<string, unknown>) ?? {})) {
        if (typeof quantity !== 'string' || !QUANTITY.test(quantity))
          problems.push(`${at}.${part}.${resource}: ${JSON.stringify(quantity)} is not a quantity`);
      }
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A quantity in base units (cores, bytes), for comparing requests with limits.
 *
 * @example
 * quantityValue('512Mi') // 536870912
 */
export function quantityValue(quantity: string): number {
  const match = /^(\d+(?:\.\d*)?)([a-zA-Z]*)$/.exec(quantity);
  if (!match) throw new Error(`not a quantity: ${quantity}`);
  const factors: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
  };
  const factor = factors[match[2] ?? ''];
  if (factor === undefined) throw new Error(`unit of ${quantity} not handled`);
  return Number(match[1]) * factor;
}
