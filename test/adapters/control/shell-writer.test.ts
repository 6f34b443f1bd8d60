// A shell working through the store's holder: when the holder dies before a command reached it, the
// shell waits out the takeover (the dead holder's lock, then the new holder's endpoint) and sends the
// command once, where it now runs.
import { createServer } from 'node:net';
import { shellWriter } from '../../../adapters/control/shell-writer.js';
import type { CommandRequest, Reply } from '../../../src/core/index.js';

/** A loopback port nothing listens on any more. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const request: CommandRequest = { actor: { id: 'ana' }, surface: 'shell', channel: 'shell', text: 'whoami' };

function localWriter() {
  const ran: string[] = [];
  return {
    ran,
    local: {
      handle: async (sent: CommandRequest): Promise<Reply> => {
        ran.push(sent.text);
        return { ok: true, blocks: [], data: { ran: sent.text }, ref: 'R-1' };
      },
      audit: async () => {},
    },
  };
}

it('a gone holder: the shell waits while its lock and then the new holder settle, and runs the command once', async () => {
  const dead = { port: await deadPort(), token: 'old' };
  const { ran, local } = localWriter();
  const seen: string[] = [];
  // What the shell sees each time it looks: the dead holder, then its lock still held by it, then the
  // lock taken by someone who has not advertised yet, then nobody (this shell takes it).
  const looks = [
    { name: 'serve (pid 1)', refusal: 'held', control: dead },
    { name: 'serve (pid 1)', refusal: 'held', control: dead },
    { name: 'shell (pid 2)', refusal: 'held' },
    undefined,
  ];
  const writer = await shellWriter({
    local,
    takeLock: async () => {
      const look = looks.shift();
      seen.push(look?.name ?? 'mine');
      return look;
    },
    recoverMs: 5_000,
  });
  if ('refused' in writer) throw new Error(writer.refused);
  const reply = await writer.handle(request);
  expect(reply.ok).toBe(true);
  expect(ran).toEqual(['whoami']);
  expect(seen).toEqual(['serve (pid 1)', 'serve (pid 1)', 'shell (pid 2)', 'mine']);
});

it('a holder that never comes back within the wait: the command fails with one line saying so', async () => {
  const dead = { port: await deadPort(), token: 'old' };
  const { ran, local } = localWriter();
  const writer = await shellWriter({
    local,
    takeLock: async () => ({ name: 'serve (pid 1)', refusal: 'held', control: dead }),
    recoverMs: 300,
  });
  if ('refused' in writer) throw new Error(writer.refused);
  const reply = await writer.handle(request);
  expect(reply.ok).toBe(false);
  expect(reply.error?.message).toMatch(/did not answer on its control port/);
  expect(ran).toEqual([]);
});
