/** What the figures were measured on: CPU, cores, RAM, Bun, OS, date. */
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, totalmem } from "node:os";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  bun: string;
  os: string;
  date: string;
  /** 1-minute load average when the run started (others' work on the machine shows here). */
  loadAverageAtStart: number;
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
    if (pretty) return `${pretty}, Linux ${release()}`;
  } catch {
    // not a Linux with os-release
  }
  return `${process.platform} ${release()}`;
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() || "unknown",
    cores: availableParallelism(),
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    bun: Bun.version,
    os: osName(),
    date: new Date().toISOString(),
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}
