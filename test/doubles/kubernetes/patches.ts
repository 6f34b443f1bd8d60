// The three PATCH flavours the API server accepts, applied to plain JSON the way the server does:
// JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch (merge keys per list).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Raised for a patch the server would refuse; the double answers it with 422 or 400. */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 422 = 422,
  ) {
    super(message);
  }
}

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const clone = <T>(value: T): T => structuredClone(value);

/** RFC 7386: objects merge, `null` deletes, everything else (lists too) replaces. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key] ?? null, value);
  }
  return result;
}

/** RFC 6902 operations: add, remove, replace, move, copy, test. */
export function applyJsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw new PatchError('json patch must be an array of operations', 400);
  let doc = clone(target);
  for (const op of operations) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new PatchError('json patch operation needs "op" and "path"', 400);
    }
    const path = parsePointer(op.path);
    switch (op.op) {
      case 'add':
        doc = setAt(doc, path, clone(op.value ?? null), 'add');
        break;
      case 'replace':
        getAt(doc, path, op.path);
        doc = setAt(doc, path, clone(op.value ?? null), 'replace');
        break;
      case 'remove':
        doc = removeAt(doc, path, op.path);
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string') throw new PatchError(`"${op.op}" needs "from"`, 400);
        const from = parsePointer(op.from);
        const value = clone(getAt(doc, from, op.from));
        if (op.op === 'move') doc = removeAt(doc, from, op.from);
        doc = setAt(doc, path, value, 'add');
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(doc, path, op.path)) !== JSON.stringify(op.value ?? null)) {
          throw new PatchError(`testing value ${op.path} failed`);
        }
        break;
      default:
        throw new PatchError(`unexpected json patch operation "${op.op}"`, 400);
    }
  }
  return doc;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid json pointer "${pointer}"`, 400);
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: Json, path: string[], pointer: string): Json {
  let node: Json = doc;
  for (const key of path) {
    if (Array.isArray(node)) node = node[Number(key)] ?? missing(pointer);
    else if (isObject(node) && key in node) node = node[key] ?? null;
    else missing(pointer);
  }
  return node;
}

function missing(pointer: string): never {
  throw new PatchError(`jsonpatch replace operation does not apply: doc is missing path: ${pointer}`);
}

function setAt(doc: Json, path: string[], value: Json, mode: 'add' | 'replace'): Json {
  if (path.length === 0) return value;
  const parent = getAt(doc, path.slice(0, -1), `/${path.slice(0, -1).join('/')}`);
  const key = path[path.length - 1] ?? '';
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (mode === 'add') parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isObject(parent)) {
    parent[key] = value;
  } else {
    missing(`/${path.join('/')}`);
  }
  return doc;
}

function removeAt(doc: Json, path: string[], pointer: string): Json {
  const parent = getAt(doc, path.slice(0, -1), pointer);
  const key = path[path.length - 1] ?? '';
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (isObject(parent) && key in parent) delete parent[key];
  else missing(pointer);
  return doc;
}

/**
 * Lists that merge element by element in a strategic merge patch, keyed by field name, as the
 * `patchMergeKey` tags on the core/v1 and apps/v1 types say. Any other list is replaced whole.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  ports: 'containerPort',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};

/** Strategic merge patch: like a merge patch, but keyed lists merge and `$patch` directives apply. */
export function applyStrategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) throw new PatchError('strategic merge patch must be a JSON object', 400);
  return mergeObject(isObject(target) ? clone(target) : {}, patch);
}

function mergeObject(target: JsonObject, patch: JsonObject): JsonObject {
  const directive = patch.$patch;
  if (directive === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return stripDirectives(rest) as JsonObject;
  }
  if (directive === 'delete') return {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue; // $patch, $retainKeys
    if (key.startsWith('$setElementOrder/') || key.startsWith('$deleteFromPrimitiveList/')) continue;
    if (value === null) {
      delete target[key];
    } else if (isObject(value)) {
      const current = target[key];
      target[key] = mergeObject(isObject(current) ? current : {}, value);
    } else if (Array.isArray(value) && MERGE_KEYS[key] !== undefined) {
      const current = target[key];
      target[key] = mergeList(Array.isArray(current) ? current : [], value, MERGE_KEYS[key]);
    } else {
      target[key] = stripDirectives(value);
    }
  }
  return target;
}

function mergeList(current: Json[], patch: Json[], mergeKey: string): Json[] {
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace')).map(stripDirectives);
  }
  const result = current.map(clone);
  for (const item of patch) {
    if (!isObject(item)) {
      result.push(item);
      continue;
    }
    const key = item[mergeKey];
    const index = result.findIndex((existing) => isObject(existing) && existing[mergeKey] === key);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = mergeObject(result[index] as JsonObject, item);
    } else {
      result.push(stripDirectives(item));
    }
  }
  return result;
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value))
    if (!key.startsWith('$')) out[key] = stripDirectives(child);
  return out;
}
