// The terminal surface: one command per line from stdin, one reply per line out (text or JSON).
// Interactive with a prompt and history on a TTY; line by line when piped; one command with -e.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Adapter, CommandRequest, MessageHandle, Reply } from '../../src/core/index.js';
import { redactText, replyToText } from '../../src/core/index.js';
import { neutraliseControls } from './terminal-text.js';

export interface ShellAdapterOptions {
  /** The router's entry point. */
  handle: (request: CommandRequest) => Promise<Reply>;
  actor: string;
  /** The real person when `actor` is impersonated (`os:alice`); main checked the permission. */
  via?: string;
  input: Readable;
  output: Writable;
  json?: boolean;
  /** Prompt and history; defaults to whether input is a TTY. */
  interactive?: boolean;
  /** File that keeps interactive history between sessions. */
  historyFile?: string;
  channel?: string;
  /** Ctrl-C at the interactive prompt (readline takes it from the terminal, so no process signal comes). */
  onInterrupt?: () => void;
}

const HISTORY_LIMIT = 500;

/**
 * The Hubot-style shell adapter.
 *
 * @example
 * const shell = new ShellAdapter({ handle: (r) => router.handle(r), actor: 'ana', input: process.stdin, output: process.stdout });
 * const exitCode = await shell.runLine('whoami');
 */
export class ShellAdapter implements Adapter {
  readonly name = 'shell';
  #readline: Interface | undefined;

  constructor(private readonly options: ShellAdapterOptions) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.#readline?.close();
  }

  /** The shell prints every notice to its own output. */
  owns(_target: string): boolean {
    return true;
  }

  async post(target: string, message: Reply): Promise<MessageHandle> {
    this.#write(message, { target });
    return { update: async (next) => this.#write(next, { target, update: true }) };
  }

  /** Runs one command line; resolves with its reply after printing it. */
  async runLine(line: string): Promise<Reply> {
    const answer = await this.options.handle({
      actor: { id: this.options.actor },
      ...(this.options.via ? { via: this.options.via } : {}),
      surface: 'shell',
      channel: this.options.channel ?? 'shell',
      text: line,
      sink: {
        send: async (progress) => {
          this.#write(progress, { progress: true });
          return { update: async (next) => this.#write(next, { progress: true, update: true }) };
        },
      },
    });
    this.#write(answer, {});
    return answer;
  }

  /**
   * Reads lines until the input ends (or `exit`), answering each in turn. Resolves with the
   * exit code: 0 when every command succeeded, 1 when one failed.
   */
  async run(): Promise<number> {
    const interactive =
      this.options.interactive ?? Boolean((this.options.input as { isTTY?: boolean }).isTTY);
    const history = interactive ? await this.#loadHistory() : [];
    // Loaded here, not at start: a one-shot `shell -e` reads no lines. (Not import(): the single-file
    // build runs in a script with no module loader.)
    const { createInterface } = process.getBuiltinModule('node:readline');
    const readline = createInterface({
      input: this.options.input,
      output: interactive ? this.options.output : undefined,
      terminal: interactive,
      history,
      historySize: HISTORY_LIMIT,
    });
    this.#readline = readline;
    if (this.options.onInterrupt) readline.on('SIGINT', this.options.onInterrupt);
    let failed = false;
    if (interactive) {
      this.options.output.write('Millwright shell. Type help for commands, exit to leave.\n');
      readline.setPrompt('millwright> ');
      readline.prompt();
    }
    for await (const raw of readline) {
      const line = raw.trim();
      if (line === 'exit' || line === 'quit') break;
      if (line.length > 0 && !line.startsWith('#')) {
        const answer = await this.runLine(line);
        if (!answer.ok) failed = true;
        if (interactive) await this.#remember(line);
      }
      if (interactive) readline.prompt();
    }
    readline.close();
    return interactive || !failed ? 0 : 1;
  }

  #write(message: Reply, how: { progress?: boolean; update?: boolean; target?: string }): void {
    const text = replyToText(message);
    if (this.options.json) {
      const line = {
        ok: message.ok,
        text,
        blocks: message.blocks,
        ...(message.data ? { data: message.data } : {}),
        ...(message.error ? { error: message.error } : {}),
        ...(message.ref ? { ref: message.ref } : {}),
        ...(how.progress ? { progress: true } : {}),
        ...(how.update ? { update: true } : {}),
        ...(how.target ? { target: how.target } : {}),
      };
      this.options.output.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const prefix = how.target ? `[to ${how.target}] ` : how.update ? '(update) ' : '';
    this.options.output.write(`${neutraliseControls(`${prefix}${text}`)}\n\n`);
  }

  async #loadHistory(): Promise<string[]> {
    if (!this.options.historyFile) return [];
    try {
      const lines = (await readFile(this.options.historyFile, 'utf8')).split('\n').filter(Boolean);
      // readline wants the newest entry first.
      return lines.slice(-HISTORY_LIMIT).reverse();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  async #remember(line: string): Promise<void> {
    if (!this.options.historyFile) return;
    await mkdir(path.dirname(this.options.historyFile), { recursive: true });
    await appendFile(this.options.historyFile, `${redactText(line)}\n`, { mode: 0o600 });
  }
}
