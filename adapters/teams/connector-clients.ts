// The Bot Connector clients botbuilder makes, with their own retries taken out (the shared upstream
// policy retries and counts them) and every request cut at teams.timeout.
import type { ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import type { Logger } from '../../src/core/index.js';

type ConnectorFactory = ReturnType<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>;
type ConnectorClient = Awaited<ReturnType<ConnectorFactory['create']>>;

/** The part of an @azure/core-rest-pipeline request and pipeline this file touches. */
interface PipelineRequest {
  abortSignal?: AbortSignal | undefined;
}
interface Pipeline {
  removePolicy(options: { name?: string; phase?: string }): unknown[];
  addPolicy(policy: {
    name: string;
    sendRequest(
      request: PipelineRequest,
      next: (request: PipelineRequest) => Promise<unknown>,
    ): Promise<unknown>;
  }): void;
}

/** A Bot Connector request that had no answer within teams.timeout. */
export class ConnectorTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs}ms`);
    this.name = 'ConnectorTimeout';
  }
}

const TIMEOUT_POLICY = 'millwrightConnectorTimeout';

/**
 * Makes `auth` hand out connector clients that send each request once, cut at `timeoutMs`.
 * ConnectorClient builds its @azure/core-client pipeline (with a retry phase: exponential backoff,
 * throttling) and exposes no option to turn it off, so the pipeline's Retry phase is removed after
 * construction; if a botbuilder release moves it, a warning says so and its retries stay.
 *
 * @example
 * const auth = withPolicyConnectors(createBotAuthentication(...), { timeoutMs: 10_000, logger });
 */
export function withPolicyConnectors<T extends ConfigurationBotFrameworkAuthentication>(
  auth: T,
  options: { timeoutMs: number; logger: Logger },
): T {
  const createFactory = auth.createConnectorFactory.bind(auth);
  let warned = false;
  auth.createConnectorFactory = (claims) => {
    const inner = createFactory(claims);
    const factory: ConnectorFactory = {
      create: async (serviceUrl, audience) => {
        const client = await inner.create(serviceUrl, audience);
        const pipeline = pipelineOf(client);
        const removed = pipeline?.removePolicy({ phase: 'Retry' }) ?? [];
        if (!pipeline || removed.length === 0) {
          if (!warned) {
            options.logger.warn(
              'teams: could not take botbuilder’s own retries out of the Bot Connector client; its retries are not bounded by the shared policy',
            );
          }
          warned = true;
        }
        pipeline?.removePolicy({ name: TIMEOUT_POLICY });
        pipeline?.addPolicy(timeoutPolicy(options.timeoutMs));
        return client;
      },
    };
    return factory;
  };
  return auth;
}

function timeoutPolicy(timeoutMs: number): Parameters<Pipeline['addPolicy']>[0] {
  return {
    name: TIMEOUT_POLICY,
    async sendRequest(request, next) {
      const timeout = AbortSignal.timeout(timeoutMs);
      request.abortSignal = request.abortSignal ? AbortSignal.any([request.abortSignal, timeout]) : timeout;
      try {
        return await next(request);
      } catch (error) {
        if (timeout.aborted) throw new ConnectorTimeout(timeoutMs);
        throw error;
      }
    },
  };
}

/** The @azure/core-client pipeline inside a ConnectorClient (a private field of its compat base). */
function pipelineOf(client: ConnectorClient): Pipeline | undefined {
  const pipeline = (client as unknown as { client?: { pipeline?: Partial<Pipeline> } }).client?.pipeline;
  return typeof pipeline?.removePolicy === 'function' && typeof pipeline.addPolicy === 'function'
    ? (pipeline as Pipeline)
    : undefined;
}
