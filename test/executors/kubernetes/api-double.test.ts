// The Kubernetes API double answers like the API server: Status bodies for failures, bearer-token
// auth, dryRun=All, the three patch content types, label selectors, the scale subresource and watches.
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { createSecureContext } from 'node:tls';
import { selfSignedCertificate } from '../../doubles/kubernetes/self-signed-cert.js';
import {
  type KubernetesApiDouble,
  loadKubernetesScenario,
  startKubernetesApi,
} from '../../doubles/kubernetes-api.js';
import { CHECKOUT, startCluster } from './support.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
}

function api(
  double: KubernetesApiDouble,
  method: string,
  path: string,
  options: { body?: unknown; contentType?: string; token?: string | null; accept?: string } = {},
): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const token = options.token === undefined ? double.token : options.token;
  return new Promise((resolve, reject) => {
    const request = https.request(
      `${double.url}${path}`,
      {
        method,
        ca: double.caPem,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload ? { 'content-type': options.contentType ?? 'application/json' } : {}),
          ...(options.accept ? { accept: options.accept } : {}),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // plain text (logs)
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body, text });
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

describe('Kubernetes API double', () => {
  let double: KubernetesApiDouble;
  beforeEach(async () => {
    double = await startCluster('healthy');
  });
  afterEach(() => double.close());

  it('serves version and discovery, and refuses everything else without the bearer token (401 Status)', async () => {
    expect((await api(double, 'GET', '/version', { token: null })).body).toMatchObject({
      major: '1',
      gitVersion: 'v1.30.2',
    });
    const unauthorized = await api(double, 'GET', CHECKOUT, { token: 'wrong' });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    expect((await api(double, 'GET', '/apis')).body).toMatchObject({
      kind: 'APIGroupList',
      groups: [
        { name: 'apps' },
        { name: 'argoproj.io', preferredVersion: { groupVersion: 'argoproj.io/v1alpha1' } },
      ],
    });
    expect((await api(double, 'GET', '/apis/apps/v1')).body).toMatchObject({
      kind: 'APIResourceList',
      groupVersion: 'apps/v1',
      resources: expect.arrayContaining([
        expect.objectContaining({ name: 'deployments/scale', kind: 'Scale', group: 'autoscaling' }),
      ]),
    });
    expect(double.requests.find((r) => r.path === CHECKOUT)?.authorized).toBe(false);
  });

  it('answers a missing deployment with a NotFound Status', async () => {
    const answer = await api(double, 'GET', '/apis/apps/v1/namespaces/shop/deployments/payments');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "payments" not found',
      reason: 'NotFound',
      details: { name: 'payments', group: 'apps', kind: 'deployments' },
      code: 404,
    });
  });

  it('refuses a PUT with a stale resourceVersion (409 Conflict) and an invalid scale (422 Invalid)', async () => {
    const current = (await api(double, 'GET', CHECKOUT)).body as { metadata: { resourceVersion: string } };
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
    const conflict = await api(double, 'PUT', CHECKOUT, { body: stale });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ reason: 'Conflict', code: 409 });
    expect((conflict.body as { message: string }).message).toContain('the object has been modified');

    const invalid = await api(double, 'PATCH', `${CHECKOUT}/scale`, {
      body: { spec: { replicas: -1 } },
      contentType: 'application/merge-patch+json',
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body).toMatchObject({
      reason: 'Invalid',
      message:
        'Scale.autoscaling "checkout" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      details: { causes: [{ field: 'spec.replicas', reason: 'FieldValueInvalid' }] },
    });
  });

  it('honours dryRun=All: validates and answers the would-be object, stores nothing', async () => {
    const before = double.state.get('Deployment', 'shop', 'checkout');
    const answer = await api(double, 'PATCH', `${CHECKOUT}?dryRun=All`, {
      body: { spec: { replicas: 7 } },
      contentType: 'application/merge-patch+json',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ spec: { replicas: 7 }, metadata: { generation: 5 } });
    expect(double.state.get('Deployment', 'shop', 'checkout')).toEqual(before);
    expect(
      (
        await api(double, 'PATCH', `${CHECKOUT}?dryRun=Some`, {
          body: {},
          contentType: 'application/merge-patch+json',
        })
      ).status,
    ).toBe(400);
  });

  it('merges a strategic-merge patch into containers by name, and refuses an unknown patch type', async () => {
    const answer = await api(double, 'PATCH', CHECKOUT, {
      contentType: 'application/strategic-merge-patch+json',
      body: {
        spec: {
          template: {
            spec: { containers: [{ name: 'checkout', image: 'registry.example.com/shop/checkout:2.0.0' }] },
          },
        },
      },
    });
    expect(answer.status).toBe(200);
    const container = double.state.get('Deployment', 'shop', 'checkout')?.spec.template.spec.containers[0];
    // Merged, not replaced: the other container fields survive.
    expect(container).toMatchObject({
      image: 'registry.example.com/shop/checkout:2.0.0',
      ports: [{ containerPort: 8080 }],
    });
    const unsupported = await api(double, 'PATCH', CHECKOUT, { contentType: 'application/yaml', body: {} });
    expect(unsupported.status).toBe(415);
  });

  it('validates writes like the API server (selector must match the template labels)', async () => {
    const answer = await api(double, 'PATCH', CHECKOUT, {
      contentType: 'application/merge-patch+json',
      body: { spec: { template: { metadata: { labels: { app: 'other' } } } } },
    });
    expect(answer.status).toBe(422);
    expect((answer.body as { message: string }).message).toContain(
      '`selector` does not match template `labels`',
    );
  });

  it('filters lists by equality- and set-based label selectors, and by metadata.name', async () => {
    double.state.apply(loadKubernetesScenario('crashloop', { deployment: 'cart' }));
    const names = async (query: string) =>
      (
        (await api(double, 'GET', `/apis/apps/v1/namespaces/shop/deployments?${query}`)).body as {
          items: { metadata: { name: string } }[];
        }
      ).items.map((d) => d.metadata.name);
    expect(await names('labelSelector=app%3Dcart')).toEqual(['cart']);
    expect(await names('labelSelector=app%20in%20(cart,checkout),team%3Dpayments')).toEqual([
      'cart',
      'checkout',
    ]);
    expect(await names('labelSelector=app!%3Dcart')).toEqual(['checkout']);
    expect(await names('fieldSelector=metadata.name%3Dcheckout')).toEqual(['checkout']);
    expect(
      (await api(double, 'GET', '/apis/apps/v1/namespaces/shop/deployments?labelSelector=%3D%3D')).status,
    ).toBe(400);
  });

  it('serves pod logs with tailLines and refuses an ambiguous or unknown container', async () => {
    const path = '/api/v1/namespaces/shop/pods/checkout-6d9f7c8b5d-x7k2p/log';
    const answer = await api(double, 'GET', `${path}?tailLines=2`);
    expect(answer.headers['content-type']).toBe('text/plain');
    expect(answer.text.split('\n')).toHaveLength(3); // two lines and the final newline
    expect((await api(double, 'GET', `${path}?container=sidecar`)).status).toBe(400);
  });

  it('streams watch events for changes after the given resourceVersion', async () => {
    const list = (await api(double, 'GET', '/apis/apps/v1/namespaces/shop/deployments')).body as {
      metadata: { resourceVersion: string };
    };
    const events: { type: string; object: { spec: { replicas: number } } }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const request = https.get(
        `${double.url}/apis/apps/v1/namespaces/shop/deployments?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
        { ca: double.caPem, headers: { authorization: `Bearer ${double.token}` } },
        (response) => {
          let buffer = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            buffer += chunk;
            const lines = buffer.split('\n');
            buffer = lines.pop() ?? '';
            for (const line of lines) events.push(JSON.parse(line));
            if (events.some((e) => e.type === 'MODIFIED')) {
              request.destroy();
              resolve();
            }
          });
        },
      );
      request.on('error', (error) => (events.length > 0 ? resolve() : reject(error)));
    });
    while (!double.requests.some((r) => r.query.watch === 'true'))
      await new Promise((resolve) => setImmediate(resolve));
    await api(double, 'PATCH', `${CHECKOUT}/scale`, {
      body: { spec: { replicas: 4 } },
      contentType: 'application/merge-patch+json',
    });
    await done;
    expect(events[0]).toMatchObject({ type: 'MODIFIED', object: { spec: { replicas: 4 } } });
  });

  it('a restart creates a new ReplicaSet revision; an undo brings the old one back as the newest', async () => {
    await api(double, 'PATCH', CHECKOUT, {
      contentType: 'application/strategic-merge-patch+json',
      body: {
        spec: {
          template: {
            metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-03-01T10:00:00Z' } },
          },
        },
      },
    });
    const revisions = () =>
      double.state
        .list('ReplicaSet', 'shop')
        .map((rs) => [rs.metadata.annotations?.['deployment.kubernetes.io/revision'], rs.spec.replicas])
        .sort();
    expect(revisions()).toEqual([
      ['3', 0],
      ['4', 0],
      ['5', 3],
    ]);
    const old = double.state.get('ReplicaSet', 'shop', 'checkout-6d9f7c8b5d');
    const template = structuredClone(old?.spec.template);
    delete template?.metadata?.labels?.['pod-template-hash'];
    await api(double, 'PATCH', CHECKOUT, {
      contentType: 'application/json-patch+json',
      body: [{ op: 'replace', path: '/spec/template', value: template }],
    });
    const restored = double.state.get('ReplicaSet', 'shop', 'checkout-6d9f7c8b5d');
    expect(restored?.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '6',
      'deployment.kubernetes.io/revision-history': '4',
    });
    expect(double.state.get('Deployment', 'shop', 'checkout')?.metadata.generation).toBe(6);
  });
});

describe('scenario fixtures', () => {
  it('can be copied under other names and namespaces, with fresh uids, into one double', async () => {
    const double = await startKubernetesApi({
      objects: [
        ...loadKubernetesScenario('healthy'),
        ...loadKubernetesScenario('healthy', { deployment: 'cart', namespace: 'store' }),
      ],
    });
    try {
      const cart = double.state.get('Deployment', 'store', 'cart');
      const checkout = double.state.get('Deployment', 'shop', 'checkout');
      expect(cart?.spec.selector).toEqual({ matchLabels: { app: 'cart' } });
      expect(cart?.metadata.uid).not.toBe(checkout?.metadata.uid);
      const rs = double.state.list('ReplicaSet', 'store');
      expect(rs.map((r) => r.metadata.name).sort()).toEqual(['cart-5f8d9c7b64', 'cart-6d9f7c8b5d']);
      expect(rs.every((r) => r.metadata.ownerReferences?.[0]?.uid === cart?.metadata.uid)).toBe(true);
    } finally {
      await double.close();
    }
  });
});

describe("the double's self-signed certificate", () => {
  it('is valid DER every time (random serials once produced non-minimal INTEGERs), for 127.0.0.1', () => {
    for (let i = 0; i < 300; i++) {
      const { certPem, keyPem } = selfSignedCertificate();
      const certificate = new X509Certificate(certPem);
      expect(certificate.verify(certificate.publicKey)).toBe(true);
      expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(() => createSecureContext({ cert: certPem, key: keyPem })).not.toThrow();
    }
  });
});
