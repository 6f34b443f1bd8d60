// What the command line reads and writes: the process's streams, or a test's.

export interface MainIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * The OS user at the terminal; only tests set it. Left out, it is the process's own user from
   * the OS, never $USER: anyone can set an environment variable, and this name decides who may
   * use `--as`.
   */
  osUser?: string;
  /** Where SIGINT and SIGTERM come from; `process` unless a test passes an EventEmitter. */
  signals?: import('../server/index.js').SignalSource;
  /** Ends the process at once; only the hard shutdown deadline uses it. Tests leave it out. */
  exit?: (code: number) => void;
}

export function defaultIO(): MainIO {
  return {
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    exit: (code) => process.exit(code),
  };
}
