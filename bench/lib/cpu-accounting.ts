// Where a benchmark's CPU went, from /proc (Linux): this driver process, each replica, PostgreSQL (the
// postmaster and its backends), and the whole machine, so a ratio can be read against what it cost.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ), 100 on Linux. */
const TICK = 100;

/** CPU seconds (user + system) of one process, or 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    // Exited between the listing and the read: nothing more to count.
    return 0;
  }
}

/** The postmaster listening on `port` and its children (backends, WAL writer, ...). */
function postgresPids(port: number): number[] {
  const pids = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
  const postmaster = pids.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(`-p ${port} `);
    } catch {
      return false;
    }
  });
  if (postmaster === undefined) return [];
  return pids.filter((pid) => {
    try {
      return (
        pid === postmaster ||
        readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(postmaster)
      );
    } catch {
      return false;
    }
  });
}

/** Busy and total CPU seconds of the whole machine. */
function machine(): { busy: number; total: number } {
  const times = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = times.reduce((sum, value) => sum + value, 0) / TICK;
  const idle = ((times[3] ?? 0) + (times[4] ?? 0)) / TICK;
  return { busy: total - idle, total };
}

export interface CpuSplit {
  /** CPU milliseconds per command of: the driver (requests and the Slack double), all replicas, PostgreSQL. */
  driverMs: number;
  replicasMs: number;
  postgresMs: number;
  /** Cores the whole machine kept busy meanwhile (other processes and the kernel included). */
  busyCores: number;
}

/**
 * Starts counting; the returned function ends it and splits the CPU spent per command. Undefined where
 * /proc is missing (not Linux).
 *
 * @example
 * const done = cpuAccounting(replicas.map((r) => r.pid), postgres.port);
 * await burst();
 * const split = done?.(commands, seconds);
 */
export function cpuAccounting(
  replicaPids: readonly number[],
  postgresPort: number,
): ((commands: number, seconds: number) => CpuSplit) | undefined {
  try {
    readFileSync('/proc/stat');
  } catch {
    return undefined;
  }
  const pg = postgresPids(postgresPort);
  const before = {
    driver: process.cpuUsage(),
    replicas: replicaPids.map(cpuSeconds),
    pg: pg.map(cpuSeconds),
    machine: machine(),
  };
  return (commands, seconds) => {
    const driver = process.cpuUsage(before.driver);
    const replicas = replicaPids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - before.replicas[i]!, 0);
    const postgres = pg.reduce((sum, pid, i) => sum + cpuSeconds(pid) - before.pg[i]!, 0);
    const after = machine();
    const perCommand = (cpu: number) => (cpu * 1000) / commands;
    return {
      driverMs: perCommand((driver.user + driver.system) / 1e6),
      replicasMs: perCommand(replicas),
      postgresMs: perCommand(postgres),
      busyCores: (after.busy - before.machine.busy) / seconds,
    };
  };
}
