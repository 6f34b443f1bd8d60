// The fixed documents of the API double: version and discovery (what kubectl reads before the real
// call), `Status` failures, and the server-side `Table` rendering kubectl asks for with `as=Table`.
import type { DeploymentObject, KubeObject, PodObject, ReplicaSetObject } from './cluster-state.js';
import { selectorString } from './selectors.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '30',
  gitVersion: 'v1.30.2',
  gitCommit: '39683505b630ff2121012f3c5b16215a1449d5ed',
  gitTreeState: 'clean',
  buildDate: '2024-06-11T20:21:00Z',
  goVersion: 'go1.22.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function coreVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

const APPS_V1 = { groupVersion: 'apps/v1', version: 'v1' };
export const APPS_GROUP = { name: 'apps', versions: [APPS_V1], preferredVersion: APPS_V1 };
export const GROUP_LIST = { kind: 'APIGroupList', apiVersion: 'v1', groups: [APPS_GROUP] };

const READ_WRITE = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUB = ['get', 'patch', 'update'];

export const CORE_V1_RESOURCES = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    {
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['ns'],
    },
    {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: READ_WRITE,
      shortNames: ['po'],
      categories: ['all'],
    },
    { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: SUB },
  ],
};

export const APPS_V1_RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'apps/v1',
  resources: [
    {
      name: 'deployments',
      singularName: 'deployment',
      namespaced: true,
      kind: 'Deployment',
      verbs: READ_WRITE,
      shortNames: ['deploy'],
      categories: ['all'],
    },
    {
      name: 'deployments/scale',
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: SUB,
    },
    { name: 'deployments/status', singularName: '', namespaced: true, kind: 'Deployment', verbs: SUB },
    {
      name: 'replicasets',
      singularName: 'replicaset',
      namespaced: true,
      kind: 'ReplicaSet',
      verbs: READ_WRITE,
      shortNames: ['rs'],
      categories: ['all'],
    },
    {
      name: 'replicasets/scale',
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: SUB,
    },
    { name: 'replicasets/status', singularName: '', namespaced: true, kind: 'ReplicaSet', verbs: SUB },
  ],
};

/** Reasons the API server pairs with each status code in a `Status` failure. */
export const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason: string; message: string; field?: string }[];
  retryAfterSeconds?: number;
}

/** A `Status` failure body, as in k8s.io/apimachinery/pkg/api/errors. */
export function statusFailure(code: number, message: string, details?: StatusDetails, reason?: string) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: reason ?? REASON_BY_CODE[code] ?? 'Unknown',
    ...(details ? { details } : {}),
    code,
  };
}

/** A `Status` success body (answers a DELETE). */
export function statusSuccess(details: StatusDetails) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/** kubectl's HumanDuration (k8s.io/apimachinery/pkg/util/duration), used in the Age column. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const column = (name: string, type: string, description: string, priority = 0, format = ''): Column => ({
  name,
  type,
  format,
  description,
  priority,
});

const NAME = column('Name', 'string', 'Name must be unique within a namespace.', 0, 'name');
const AGE = column(
  'Age',
  'string',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);

const COLUMNS: Record<KubeObject['kind'], Column[]> = {
  Deployment: [
    NAME,
    column('Ready', 'string', 'Number of the pod with ready state'),
    column(
      'Up-to-date',
      'string',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    column(
      'Available',
      'string',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    AGE,
    column('Containers', 'string', 'Names of each container in the template.', 1),
    column('Images', 'string', 'Images referenced by each container in the template.', 1),
    column('Selector', 'string', 'Label selector for pods.', 1),
  ],
  ReplicaSet: [
    NAME,
    column('Desired', 'integer', 'Replicas is the number of desired replicas.'),
    column('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
    column('Ready', 'integer', 'The number of ready replicas for this replica set.'),
    AGE,
    column('Containers', 'string', 'Names of each container in the template.', 1),
    column('Images', 'string', 'Images referenced by each container in the template.', 1),
    column(
      'Selector',
      'string',
      'Selector is a label query over pods that should match the replica count.',
      1,
    ),
  ],
  Pod: [
    NAME,
    column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'string', 'The aggregate status of the containers in this pod.'),
    column(
      'Restarts',
      'string',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    AGE,
    column(
      'IP',
      'string',
      'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      1,
    ),
    column('Node', 'string', 'Name of the node this pod is running on.', 1),
  ],
};

/** A meta.k8s.io/v1 Table of the given objects, with row objects per `includeObject`. */
export function toTable(
  kind: KubeObject['kind'],
  objects: KubeObject[],
  now: Date,
  resourceVersion: string,
  includeObject: string | null,
) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: COLUMNS[kind],
    rows: objects.map((object) => ({
      cells: cells(object, now),
      object:
        includeObject === 'None'
          ? undefined
          : includeObject === 'Object'
            ? object
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
    })),
  };
}

function cells(object: KubeObject, now: Date): (string | number)[] {
  const age = humanDuration(
    now.getTime() - Date.parse(object.metadata.creationTimestamp ?? now.toISOString()),
  );
  if (object.kind === 'Deployment') return deploymentCells(object, age);
  if (object.kind === 'ReplicaSet') return replicaSetCells(object, age);
  return podCells(object, age);
}

function deploymentCells(d: DeploymentObject, age: string): (string | number)[] {
  const containers = d.spec.template.spec.containers;
  return [
    d.metadata.name,
    `${d.status?.readyReplicas ?? 0}/${d.spec.replicas ?? 1}`,
    d.status?.updatedReplicas ?? 0,
    d.status?.availableReplicas ?? 0,
    age,
    containers.map((c) => c.name).join(','),
    containers.map((c) => c.image).join(','),
    selectorString(d.spec.selector),
  ];
}

function replicaSetCells(rs: ReplicaSetObject, age: string): (string | number)[] {
  const containers = rs.spec.template.spec.containers;
  return [
    rs.metadata.name,
    rs.spec.replicas ?? 1,
    rs.status?.replicas ?? 0,
    rs.status?.readyReplicas ?? 0,
    age,
    containers.map((c) => c.name).join(','),
    containers.map((c) => c.image).join(','),
    selectorString(rs.spec.selector),
  ];
}

interface ContainerStatusJson {
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string };
    terminated?: { reason?: string; exitCode?: number };
    running?: object;
  };
}

/** The STATUS column the way kubectl's pod printer derives it from container states. */
function podCells(pod: PodObject, age: string): (string | number)[] {
  const statuses = (pod.status?.containerStatuses ?? []) as ContainerStatusJson[];
  let reason = pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
  let ready = 0;
  let restarts = 0;
  for (const status of [...statuses].reverse()) {
    restarts += status.restartCount ?? 0;
    if (status.state?.waiting?.reason) reason = status.state.waiting.reason;
    else if (status.state?.terminated?.reason) reason = status.state.terminated.reason;
    else if (status.state?.terminated) reason = `ExitCode:${status.state.terminated.exitCode ?? 0}`;
    else if (status.ready && status.state?.running) ready++;
  }
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return [
    pod.metadata.name,
    `${ready}/${pod.spec.containers.length}`,
    reason,
    String(restarts),
    age,
    String(pod.status?.podIP ?? '<none>'),
    pod.spec.nodeName ?? '<none>',
  ];
}
