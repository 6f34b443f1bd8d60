// Public face of the http executor.
export { createHttpExecutor, type HttpExecutorOptions, type HttpTarget } from './executor.js';
export { parseBaseUrl, targetUrl } from './target-url.js';
