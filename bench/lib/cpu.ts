/**
 * Where the machine's cores went during a run: CPU seconds of the server process, of every PostgreSQL
 * process, and of this load-generating process, read from /proc (Linux), as cores busy on average.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: clock ticks per second in /proc/<pid>/stat (100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

function ticksOf(pid: number | string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) are utime and stime; after the command they are at index 11 and 12.
    return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  } catch {
    return 0;
  }
}

/** Busy ticks of a process's libuv thread pool (threads named libuv-worker: argon2, WebCrypto). */
function threadPoolTicks(pid: number): number {
  let ticks = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'libuv-worker') ticks += ticksOf(`${pid}/task/${tid}`);
      } catch {
        // The thread ended between readdir and read.
      }
    }
  } catch {
    // The process is gone.
  }
  return ticks;
}

function postgresTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') ticks.set(pid, ticksOf(pid));
    } catch {
      // The process ended between readdir and read.
    }
  }
  return ticks;
}

/** Busy ticks of the whole machine (all cores), from the first line of /proc/stat. */
function machineTicks(): number {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((s, n) => s + n, 0);
    // idle and iowait are the 4th and 5th values.
    return total - (fields[3] ?? 0) - (fields[4] ?? 0);
  } catch {
    return 0;
  }
}

export interface CpuSplit {
  /** The wall time measured: a figure below times this is CPU seconds. */
  readonly seconds: number;
  /** Average cores busy over the run. */
  readonly server: number;
  /** The part of `server` spent on the server's libuv thread pool (argon2id hashes, WebCrypto signatures). */
  readonly serverThreadPool: number;
  readonly postgres: number;
  readonly bench: number;
  /** Everything else on the machine (other users' builds and tests show up here). */
  readonly other: number;
}

export interface CpuMeter {
  stop(): CpuSplit;
}

/** Starts measuring; `serverPids` are the processes counted as "server" (Portcullis or a worker). */
export function meterCpu(serverPids: readonly number[]): CpuMeter {
  const t0 = performance.now();
  const server0 = serverPids.reduce((s, p) => s + ticksOf(p), 0);
  const pool0 = serverPids.reduce((s, p) => s + threadPoolTicks(p), 0);
  const pg0 = postgresTicks();
  const bench0 = process.cpuUsage();
  const machine0 = machineTicks();
  return {
    stop() {
      const seconds = (performance.now() - t0) / 1000;
      const server = serverPids.reduce((s, p) => s + ticksOf(p), 0) - server0;
      const pool = serverPids.reduce((s, p) => s + threadPoolTicks(p), 0) - pool0;
      let pg = 0;
      for (const [pid, ticks] of postgresTicks()) pg += ticks - (pg0.get(pid) ?? 0);
      const used = process.cpuUsage(bench0);
      const machine = (machineTicks() - machine0) / TICKS_PER_SECOND / seconds;
      const split = {
        seconds,
        server: server / TICKS_PER_SECOND / seconds,
        serverThreadPool: pool / TICKS_PER_SECOND / seconds,
        postgres: pg / TICKS_PER_SECOND / seconds,
        bench: (used.user + used.system) / 1e6 / seconds,
      };
      return { ...split, other: Math.max(0, machine - split.server - split.postgres - split.bench) };
    },
  };
}

/**
 * PostgreSQL CPU split by database: each backend's process title names its database
 * (`postgres: <cluster>: <user> <database> <client> <state>`), so a backend's ticks belong to its database;
 * the server's own processes (checkpointer, WAL writer, background writer, postmaster) are `background`.
 * Polled every `pollMs`, so that a backend which ends during the measurement keeps the ticks it had at its
 * last poll (at most that much of its CPU is lost), and one that starts is counted from its first tick.
 */
export interface PostgresByDatabase {
  /** CPU seconds per database over the measurement. */
  readonly databases: ReadonlyMap<string, number>;
  /** CPU seconds of the processes that serve no one database. */
  readonly background: number;
}

export interface PostgresMeter {
  stop(): PostgresByDatabase;
}

function postgresProcesses(): Map<string, { database: string | undefined; ticks: number }> {
  const processes = new Map<string, { database: string | undefined; ticks: number }>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      // "postgres: 15/main: postgres pc_bench_… 127.0.0.1(54321) idle": user, then database. Background
      // processes have one word or two after the cluster ("checkpointer", "background writer").
      const words = /^postgres: (?:[^:]+: )?(.*)$/.exec(title)?.[1]?.split(/\s+/) ?? [];
      const database = words.length >= 3 && /^[\w.]+\(\d+\)$|^\[local\]$/.test(words[2] ?? '') ? words[1] : undefined;
      processes.set(pid, { database, ticks: ticksOf(pid) });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return processes;
}

export function meterPostgresByDatabase(pollMs = 250): PostgresMeter {
  const first = postgresProcesses();
  const last = new Map(first);
  const poll = (): void => {
    for (const [pid, p] of postgresProcesses()) last.set(pid, p);
  };
  const timer = setInterval(poll, pollMs);
  return {
    stop() {
      clearInterval(timer);
      poll();
      const databases = new Map<string, number>();
      let background = 0;
      for (const [pid, p] of last) {
        const seconds = (p.ticks - (first.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
        if (p.database === undefined) background += seconds;
        else databases.set(p.database, (databases.get(p.database) ?? 0) + seconds);
      }
      return { databases, background };
    },
  };
}
