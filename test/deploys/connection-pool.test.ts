// Reads reuse kept-open connections: the per-request agent @kubernetes/client-node makes is swapped
// for one pooled agent per TLS identity, and agents it does not know (proxies) are left alone.
import type http from 'node:http';
import https from 'node:https';
import { HttpMethod, type ObservableMiddleware, RequestContext } from '@kubernetes/client-node';
import { ConnectionPool } from '../../src/upstreams/kubernetes/connection-pool.js';

async function agentAfter(pool: ConnectionPool, agent: http.Agent): Promise<http.Agent | undefined> {
  const request = new RequestContext(
    'https://127.0.0.1:6443/apis/apps/v1/namespaces/shop/deployments',
    HttpMethod.GET,
  );
  request.setAgent(agent);
  const middleware = pool.withPooling(undefined).middleware as ObservableMiddleware[];
  const changed = await middleware.at(-1)!.pre(request).toPromise();
  return changed.getAgent();
}

describe('connection pool', () => {
  const pool = new ConnectionPool();
  afterAll(() => pool.close());

  it('gives requests with the same TLS identity one keep-alive agent', async () => {
    const first = await agentAfter(pool, new https.Agent({ ca: 'CA-ONE', cert: 'CERT', key: 'KEY' }));
    const second = await agentAfter(pool, new https.Agent({ ca: 'CA-ONE', cert: 'CERT', key: 'KEY' }));
    expect(first).toBeInstanceOf(https.Agent);
    expect(second).toBe(first);
    expect((first as http.Agent & { keepAlive: boolean }).keepAlive).toBe(true);
    expect((first as http.Agent & { options: { ca?: unknown } }).options.ca).toBe('CA-ONE');
  });

  it('keeps other identities apart: another CA or client certificate gets its own agent', async () => {
    const one = await agentAfter(pool, new https.Agent({ ca: 'CA-ONE', cert: 'CERT', key: 'KEY' }));
    const otherCa = await agentAfter(pool, new https.Agent({ ca: 'CA-TWO', cert: 'CERT', key: 'KEY' }));
    const rotatedCert = await agentAfter(
      pool,
      new https.Agent({ ca: 'CA-ONE', cert: 'CERT-2', key: 'KEY-2' }),
    );
    expect(new Set([one, otherCa, rotatedCert]).size).toBe(3);
  });

  it('leaves agents it does not know, such as proxy agents, alone', async () => {
    class ProxyAgent extends https.Agent {}
    const proxy = new ProxyAgent({ ca: 'CA-ONE' });
    expect(await agentAfter(pool, proxy)).toBe(proxy);
    proxy.destroy();
  });

  it('keeps the middleware a call already carries', () => {
    const signal = {
      pre: (r: RequestContext) => r,
      post: (r: unknown) => r,
    } as unknown as ObservableMiddleware;
    const options = pool.withPooling({ middleware: [signal], middlewareMergeStrategy: 'append' });
    expect(options.middleware).toHaveLength(2);
    expect(options.middleware?.[0]).toBe(signal);
    expect(options.middlewareMergeStrategy).toBe('append');
  });
});
