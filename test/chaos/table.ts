/** The chaos run's report as two Markdown tables (faults injected, then outcomes), readable on a terminal and pasteable into docs/reliability-and-chaos.md. */
import { byKind, type ChaosReport } from "./checks.ts";
import { FAULT_KINDS, FAULT_LABELS } from "./schedule.ts";

const seconds = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : "never");

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

function tally(values: (string | number)[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const value of values) result[value] = (result[value] ?? 0) + 1;
  return result;
}

function counts(record: Record<string, number>, label = (key: string) => key): string {
  const entries = Object.entries(record).sort(([, a], [, b]) => b - a);
  return entries.length ? entries.map(([key, n]) => `${label(key)} ×${n}`).join(", ") : "none";
}

export function chaosTable(report: ChaosReport): string {
  const check = (name: string) => {
    const found = report.checks.find((c) => c.name === name);
    return found ? (found.ok ? "ok" : "**FAIL**") : "";
  };
  const kinds = byKind(report.faults);
  const faultRows = FAULT_KINDS.map((kind) => {
    const entry = kinds.get(kind);
    if (!entry) return [FAULT_LABELS[kind], "0", "", ""];
    const down = kind === "drop-sockets" ? "" : `${seconds(median(entry.downMs))} / ${seconds(Math.max(...entry.downMs))}`;
    return [FAULT_LABELS[kind], String(entry.count), down, seconds(entry.longestRecoveryMs)];
  });
  const longest = report.faults.reduce<ChaosReport["faults"][number] | undefined>(
    (worst, f) => (!worst || f.recoveryMs > worst.recoveryMs ? f : worst),
    undefined,
  );
  const { uploads, final, events, jobs } = report;
  const jobNames = Object.keys(jobs);
  const outcomeRows: string[][] = [
    ["uploads sent", String(uploads.sent), ""],
    [
      "accepted (202)",
      `${uploads.accepted}: ${uploads.acceptedAfterRetry} after retries with the same Idempotency-Key, ${uploads.replayed} of them replayed`,
      check("uploads accepted"),
    ],
    ["refused (no 202 within the retry window)", String(uploads.refused), ""],
    ["attempts answered otherwise (0: no answer)", counts(uploads.retriedStatuses), ""],
    ["accepted uploads final: active / failed", `${final.active} / ${final.failed}`, check("every accepted upload final")],
    ["accepted uploads not final / not found", `${final.notFinal} / ${final.notFound}`, check("every accepted upload final")],
    ["AI calls (retried attempts and runs taken over from killed workers included)", String(report.aiCalls), ""],
    ["Assets stuck `processing`", String(report.stuckProcessing.length), check("no Asset processing")],
    [`jobs stuck \`active\` (${jobNames.join(" / ")})`, jobNames.map((name) => jobs[name]?.active ?? 0).join(" / "), check("no job active")],
    [
      `jobs left waiting or delayed (${jobNames.join(" / ")})`,
      jobNames.map((name) => (jobs[name]?.waiting ?? 0) + (jobs[name]?.delayed ?? 0) + (jobs[name]?.prioritized ?? 0)).join(" / "),
      check("no job left waiting or delayed"),
    ],
    [`final events on the ${report.sockets} sockets: live / caught up`, `${events.live} / ${events.caughtUp}`, ""],
    ["  missing", String(events.missing), check("every socket knows every outcome of its owner")],
    ["  status different from the API's", String(events.mismatched), check("what sockets know matches the API")],
    ["  duplicates (one asset's event twice on one socket)", String(events.duplicates), check("no final event twice on a socket")],
    ["  `asset_progress` after that asset's final event", String(events.progressAfterFinal), "reported"],
    [
      "socket reconnects: resumed / caught up (catch-ups retried)",
      `${events.reconnectsRecovered} / ${events.reconnectsCaughtUp} (${events.catchUpRetries})`,
      "",
    ],
    ["Assets no 202 named (answer lost or refused), by status", counts(tally(report.unacknowledged.map((a) => a.status))), "reported"],
    [
      "pipeline quiet after the load",
      report.quiescence.reached ? `${seconds(report.quiescence.ms)} s` : `not within ${seconds(report.quiescence.ms)} s`,
      check("pipeline quiet within the bound"),
    ],
    [
      "longest recovery",
      longest ? `${seconds(longest.recoveryMs)} s (${longest.kind} at +${seconds(longest.startedAt - report.timing.loadStartedAt)} s)` : "",
      "",
    ],
  ];
  const failed = report.checks.filter((c) => !c.ok);
  const notes = [
    ...report.refused.map((u) => `refused: upload ${u.index} (user ${u.user}) at +${seconds(u.atMs)} s, attempts answered ${u.statuses.join(", ")}`),
    ...report.unacknowledged.map((a) => `no 202 named Asset ${a.assetId} (${a.status}${a.error ? `: ${a.error}` : ""}), created ${a.createdAt}`),
    ...report.duplicates.map((d) => `duplicate: Asset ${d.assetId}'s final event ${d.count}× on user ${d.user}'s socket ${d.slot} (${d.runs})`),
    ...report.progressAfterFinal.map((p) => `asset_progress "${p.stage}" of Asset ${p.assetId} came ${p.msAfterFinal} ms after its final event (${p.runs})`),
    ...report.stuckProcessing.map((s) => `stuck processing: Asset ${s.assetId} (${s.acknowledged ? "accepted" : "never acknowledged"}), job ${s.job}`),
  ];
  return [
    `Chaos run: seed ${report.seed}, ${report.durationS} s at ${report.rate} uploads/s, ${report.users} users × ${report.sockets / report.users} sockets; ` +
      `setup ${seconds(report.timing.setupMs)} s, whole run ${seconds(report.timing.totalMs)} s`,
    "",
    table(["fault", "injected", "down, s (median / max)", "longest recovery, s"], faultRows),
    "",
    table(["outcome", "value", "check"], outcomeRows),
    ...(notes.length ? ["", ...notes.map((note) => `- ${note}`)] : []),
    "",
    report.passed ? "PASS" : `FAIL: ${failed.map((c) => `${c.name}: ${c.detail}`).join("; ")}`,
  ].join("\n");
}
