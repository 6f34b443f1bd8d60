// What the Slack surface is built from: its config section and what the composition hands it.
import type { MillwrightConfig } from '../../src/config/index.js';
import type {
  Clock,
  CommandRequest,
  Logger,
  Reply,
  Services,
  UpstreamResilience,
} from '../../src/core/index.js';

export type SlackConfig = NonNullable<MillwrightConfig['slack']>;

export interface SlackAdapterOptions {
  config: SlackConfig;
  /** The router's entry point. */
  handle: (request: CommandRequest) => Promise<Reply>;
  /**
   * The store (replay and event records), the button signer and the record of spent buttons, the
   * config (group names in access.subjects) and the registry (a form's arguments, checked before its ack).
   */
  services: Pick<Services, 'store' | 'actions' | 'spentActions' | 'config' | 'registry'>;
  clock: Clock;
  logger: Logger;
  /** Registers work that outlives a request (a command after its ack) so shutdown waits for it. */
  track?: <T>(work: Promise<T>) => Promise<T>;
  /** For response_url posts and the Web API client; tests pass one pointed at a double. */
  fetch?: typeof fetch;
  /**
   * The shared upstream policies: the Slack API's retries (Retry-After honoured) and its circuit, one
   * for the Web API and one for response_url posts; a private registry when absent.
   */
  upstreams?: UpstreamResilience | undefined;
}
