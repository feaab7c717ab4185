/**
 * Readings from /proc: CPU time (utime + stime, in clock ticks) and resident
 * memory (VmRSS) of the processes the benchmark watches, and the machine's
 * busy time (to see how much else ran meanwhile). Linux only.
 */
import { readdirSync, readFileSync } from "node:fs";

/** A process (or a group: a database with backing-store processes) to watch; `pids` is read at each snapshot. */
export interface Watched {
  name: string;
  pids: () => number[];
}

/** Clock ticks per second (`getconf CLK_TCK`), usually 100. */
export const CLK_TCK: number = (() => {
  try {
    const value = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** utime + stime of one process (all its threads), in clock ticks; null when it is gone or unreadable. */
export function cpuTicks(pid: number): number | null {
  return statTicks(`/proc/${pid}/stat`);
}

/** utime + stime from a stat file of /proc (a process's or one of its threads'), in clock ticks; null when it is gone or unreadable. */
function statTicks(path: string): number | null {
  const stat = read(path);
  if (!stat) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields from after its closing ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** utime + stime of each living thread of `pid`, in clock ticks, with its name (/proc/<pid>/task/<tid>/comm). */
export function threadTicks(pid: number): Map<number, { name: string; ticks: number }> {
  const threads = new Map<number, { name: string; ticks: number }>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    const ticks = statTicks(`/proc/${pid}/task/${tid}/stat`);
    const name = read(`/proc/${pid}/task/${tid}/comm`)?.trim();
    if (ticks !== null && name !== undefined) threads.set(Number(tid), { name, ticks });
  }
  return threads;
}

/**
 * `pid` and its living descendants (from /proc/<pid>/task/<tid>/children), for
 * a server that forks workers, e.g. PostgreSQL's postmaster and backends. A
 * descendant that exits inside a window takes its CPU time with it (into its
 * parent's cutime, which is not read), so keep such windows short or the
 * pool's connections long-lived.
 */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const line of (read(`/proc/${tree[i]}/task/${tree[i]}/children`) ?? "").trim().split(/\s+/)) {
      if (line) tree.push(Number(line));
    }
  }
  return tree;
}

/** VmRSS of one process, in bytes; null when it is gone or unreadable. */
export function rssBytes(pid: number): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(read(`/proc/${pid}/status`) ?? "");
  return match ? Number(match[1]) * 1024 : null;
}

/** The machine's busy and total CPU time, in ticks, summed over all cores (first line of /proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const line = (read("/proc/stat") ?? "").split("\n")[0] ?? "";
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

const ticksToMs = (ticks: number) => (ticks * 1000) / CLK_TCK;

export interface CpuWindow {
  wallMs: number;
  /** CPU milliseconds per watched name over the window (null when it could not be read). */
  cpuMs: Record<string, number | null>;
  /** CPU milliseconds the whole machine was busy (every process, every core). */
  machineBusyMs: number;
  /** The same, as a share of all cores over the window. */
  machineBusyShare: number;
}

/** Starts a measurement window; `stop()` reads again and returns the differences. */
export function startCpuWindow(watched: Watched[]): { stop(): CpuWindow } {
  const snapshot = () =>
    Object.fromEntries(
      watched.map(({ name, pids }) => {
        const values = pids().map(cpuTicks);
        return [name, values.length && values.every((v) => v !== null) ? (values as number[]).reduce((a, b) => a + b, 0) : null];
      }),
    ) as Record<string, number | null>;
  const before = snapshot();
  const machineBefore = machineTicks();
  const started = performance.now();
  return {
    stop() {
      const after = snapshot();
      const machineAfter = machineTicks();
      const cpuMs: Record<string, number | null> = {};
      for (const { name } of watched) {
        const a = before[name];
        const b = after[name];
        cpuMs[name] = a === null || a === undefined || b === null || b === undefined ? null : ticksToMs(b - a);
      }
      const busy = machineAfter.busy - machineBefore.busy;
      const total = machineAfter.total - machineBefore.total;
      return { wallMs: performance.now() - started, cpuMs, machineBusyMs: ticksToMs(busy), machineBusyShare: total > 0 ? busy / total : 0 };
    },
  };
}

/** RSS in MiB per watched name (summed over its pids). */
export function rssMiB(watched: Watched[]): Record<string, number | null> {
  return Object.fromEntries(
    watched.map(({ name, pids }) => {
      const values = pids().map(rssBytes);
      return [name, values.length && values.every((v) => v !== null) ? (values as number[]).reduce((a, b) => a + b, 0) / 2 ** 20 : null];
    }),
  );
}
