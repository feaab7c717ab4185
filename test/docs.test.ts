/**
 * The front door: a short README that links topic pages under docs/, and
 * every relative link of those pages reaching a file, and a heading there.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = join(import.meta.dir, "..");
const PAGES = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];
const TOPICS = [
  "configuration",
  "api-and-events",
  "providers",
  "operations-and-metrics",
  "scaling-and-deployment",
  "reliability-and-chaos",
  "performance",
  "development",
];
const read = (page: string) => readFileSync(join(ROOT, page), "utf8");

/** GitHub's anchors of a page's headings (outside code fences). */
function anchorsOf(page: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of read(page).split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = !fenced && /^#{1,6} (.*)$/.exec(line)?.[1];
    if (heading)
      anchors.add(
        heading
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, "")
          .replace(/ /g, "-"),
      );
  }
  return anchors;
}

describe("README", () => {
  const readme = read("README.md");
  test("is at most 250 lines, keeps the prerequisite line CI reads and the test command", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(250);
    expect(readme).toMatch(/^sudo apt-get update && sudo apt-get install -y /m);
    expect(readme).toContain("bun run test");
  });
  test("links every topic page, and each exists", () => {
    for (const topic of TOPICS) {
      expect(readme, topic).toContain(`(docs/${topic}.md)`);
      expect(existsSync(join(ROOT, "docs", `${topic}.md`)), topic).toBe(true);
    }
  });
});

describe("links between the pages", () => {
  test("every relative link reaches a file, and its #anchor a heading there", () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      for (const [, target] of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // http:, https:, mailto:
        const [path, anchor] = target!.split("#") as [string, string | undefined];
        const file = path ? normalize(join(dirname(page), path)) : page;
        if (!existsSync(join(ROOT, file))) broken.push(`${page}: ${target} (no ${relative(".", file)})`);
        else if (anchor && file.endsWith(".md") && !anchorsOf(file).has(anchor)) broken.push(`${page}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
