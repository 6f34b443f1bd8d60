import { EventEmitter } from 'node:events';
import { type Logger, silentLogger } from '../../src/core/logger.js';
import { onTerminate } from '../../src/server/index.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('onTerminate', () => {
  test('the first SIGTERM runs shutdown once; a second signal does not start another', async () => {
    const signals = new EventEmitter();
    const calls: string[] = [];
    onTerminate((signal) => calls.push(signal), { logger: silentLogger(), source: signals });

    signals.emit('SIGTERM', 'SIGTERM');
    signals.emit('SIGINT', 'SIGINT');
    await flush();

    expect(calls).toEqual(['SIGTERM']);
  });

  test('a second signal during shutdown aborts the hurry signal handed to shutdown', async () => {
    const signals = new EventEmitter();
    let hurry: AbortSignal | undefined;
    onTerminate((_signal, given) => (hurry = given), { logger: silentLogger(), source: signals });

    signals.emit('SIGTERM', 'SIGTERM');
    await flush();
    expect(hurry?.aborted).toBe(false);
    signals.emit('SIGTERM', 'SIGTERM');

    expect(hurry?.aborted).toBe(true);
  });

  test('a failing shutdown is logged instead of becoming an unhandled rejection', async () => {
    const signals = new EventEmitter();
    const errors: unknown[] = [];
    const logger = { info: () => {}, warn: () => {}, error: (fields: unknown) => errors.push(fields) };
    onTerminate(
      async () => {
        throw new Error('audit flush failed');
      },
      { logger: logger as unknown as Logger, source: signals },
    );

    signals.emit('SIGINT', 'SIGINT');
    await flush();

    expect(errors).toEqual([expect.objectContaining({ signal: 'SIGINT', err: expect.any(Error) })]);
  });

  test('the returned function stops listening', () => {
    const signals = new EventEmitter();
    const stop = onTerminate(() => {}, { logger: silentLogger(), source: signals, signals: ['SIGTERM'] });
    expect(signals.listenerCount('SIGTERM')).toBe(1);

    stop();

    expect(signals.listenerCount('SIGTERM')).toBe(0);
  });
});
