/** The markdown written into docs/providers.md between `<!-- accuracy:start -->` and `<!-- accuracy:end -->`. */
import type { MachineInfo } from "../lib/machine.ts";
import type { Calibration, GroupSummary, RunSummary } from "./score.ts";

export type Settings = { seed: number; withText: number; withoutText: number };

export type RunRecord = {
  label: string;
  settings: Settings;
  /** What was measured: the analyzer and remover code, and the catalogue. */
  code: string;
  machine: MachineInfo;
  /** Digest of every image and its truth: runs with the same digest saw the same set. */
  setDigest: string;
  summary: RunSummary;
};

const pct = (v: number | null) => (v === null ? "–" : `${(100 * v).toFixed(v === 1 || v === 0 ? 0 : 1)} %`);
const num = (v: number | null, digits = 3) => (v === null ? "–" : v.toFixed(digits));
const ms = (v: number | null) => (v === null ? "–" : `${Math.round(v)}`);

/** "before → after" when there is a baseline on the same set, else the value alone. */
function cell(after: GroupSummary | undefined, before: GroupSummary | undefined, show: (g: GroupSummary) => string): string {
  if (after === undefined) return "–";
  return before === undefined ? show(after) : `${show(before)} → ${show(after)}`;
}

export function accuracyMarkdown(current: RunRecord, baseline: RunRecord | null): string {
  const base = baseline !== null && baseline !== current && baseline.setDigest === current.setDigest ? baseline : null;
  const { settings } = current;
  const rows: string[] = [];
  const categories = Object.keys(current.summary.perCategory);
  const groups: [string, GroupSummary, GroupSummary | undefined][] = [
    ...categories.map((c): [string, GroupSummary, GroupSummary | undefined] => [c, current.summary.perCategory[c]!, base?.summary.perCategory[c]]),
    ["**all**", current.summary.overall, base?.summary.overall],
  ];
  rows.push(
    "| category | items with text / without | brand right | model right | brand and model right | no text: a brand named | calibration gap | first colour right | mask IoU mean (min) | ms per image p50 / p95 |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const [name, after, before] of groups) {
    rows.push(
      `| ${name} | ${after.items} / ${after.blank} | ${cell(after, before, (g) => pct(g.brand))} | ${cell(after, before, (g) => pct(g.model))} | ${cell(after, before, (g) => pct(g.both))} | ${cell(after, before, (g) => pct(g.falseBrand))} | ${cell(after, before, (g) => num(g.calibrationGap, 3))} | ${cell(after, before, (g) => pct(g.firstColour))} | ${cell(after, before, (g) => `${num(g.iouMean)} (${num(g.iouMin, 2)})`)} | ${cell(after, before, (g) => `${ms(g.msP50)} / ${ms(g.msP95)}`)} |`,
    );
  }
  const lines = [
    `Measured ${current.machine.date.slice(0, 10)} with \`bun bench/accuracy.ts\` (seed ${settings.seed}: ${settings.withText} items with text, ${settings.withoutText} without, 1024 × 768 JPEG) on ${current.machine.cpuModel}, ${current.machine.cores === 1 ? "1 core" : `${current.machine.cores} cores`}, Bun ${current.machine.bun} (1-min load average ${current.machine.loadAverageAtStart} at the start). Background removal and analysis in one process, one image at a time. ${base === null ? "" : `Cells read before → after: before is ${base.code}; after is ${current.code}.`} Raw figures per image: \`bench/accuracy.json\`.`,
    "",
    ...rows,
    "",
    `Time per image is wall time of background removal + analysis (Tesseract in its worker thread); CPU per image (all threads) p50 / p95: ${ms(current.summary.overall.cpuMsP50)} / ${ms(current.summary.overall.cpuMsP95)} ms${base === null ? "" : ` (before: ${ms(base.summary.overall.cpuMsP50)} / ${ms(base.summary.overall.cpuMsP95)})`}.`,
    "",
    "**Calibration** (every brand and model named; per decile of confidence, the mean confidence against the share right):",
    "",
    calibrationTable(current.summary.calibration.brandAndModel, base?.summary.calibration.brandAndModel ?? null),
    "",
    "**By text polarity, size and rotation** (items with text: brand and model both right; every item: first colour right):",
    "",
    "| group | items | brand and model right | first colour right |",
    "|---|---|---|---|",
    ...breakdown(current.summary, base?.summary ?? null),
  ];
  return lines.join("\n");
}

function calibrationTable(after: Calibration, before: Calibration | null): string {
  const rows = ["| confidence | names | mean confidence | right | gap |", "|---|---|---|---|---|"];
  for (const d of after.deciles) rows.push(`| ${d.decile} | ${d.n} | ${num(d.meanConfidence, 2)} | ${pct(d.accuracy)} | ${num(d.gap, 2)} |`);
  const summary = `| **weighted mean gap** (largest, deciles of ≥ 5) | | | | **${num(after.meanGap, 3)}** (${num(after.maxGap, 2)})${before === null ? "" : `; before ${num(before.meanGap, 3)} (${num(before.maxGap, 2)})`} |`;
  return [...rows, summary].join("\n");
}

function breakdown(after: RunSummary, before: RunSummary | null): string[] {
  const out: string[] = [];
  const sections: [string, keyof RunSummary][] = [
    ["polarity", "byPolarity"],
    ["text size", "byTextSize"],
    ["rotation", "byRotation"],
    ["font", "byFont"],
    ["backdrop", "byBackdrop"],
  ];
  for (const [title, key] of sections) {
    const groups = after[key] as Record<string, GroupSummary>;
    const previous = before === null ? undefined : (before[key] as Record<string, GroupSummary>);
    for (const [name, g] of Object.entries(groups)) {
      const b = previous?.[name];
      out.push(`| ${title}: ${name} | ${g.items + g.blank} | ${cell(g, b, (x) => pct(x.both))} | ${cell(g, b, (x) => pct(x.firstColour))} |`);
    }
  }
  return out;
}
