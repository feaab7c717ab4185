/**
 * Matches OCR text against the catalogue of known brands and models: the
 * shipped data/catalogue.json, merged with the user's CATALOGUE_PATH file
 * (catalogue-file.ts reads both).
 *
 * Matching is on normalised text: upper case, accents dropped, and spacing
 * and punctuation ignored (runs of 1..n+2 consecutive OCR tokens are joined
 * and compared with a key of n tokens, so "GEL LYTE III" meets "Gel-Lyte III").
 * Words OCR read with confidence < 0.1 are ignored.
 * The comparison is an edit distance in which characters that OCR confuses
 * (O/0, Q/0, I/L/1, S/5, Z/2, B/8, G/6) cost 0.25, other letter edits 1, and
 * any edit that changes a digit is forbidden: "EOS R6" never matches
 * "EOS R5", nor "Air Jordan 11" "Air Jordan 1". Keys of up to 5 characters
 * tolerate confusions only; longer ones a cost of a quarter of their length.
 * When the reading does not tell two models apart, no model is named (see
 * pickModel).
 *
 * Evidence:
 * - quality q = 1 - cost / key length (1 exact, 0.95 one confusion in 5, 0.9
 *   one misspelling in 10);
 * - evidence of a key = q x (0.5 + 0.5 x OCR confidence of the matched words,
 *   mean weighted by characters): Tesseract gives short words read right low
 *   confidences, and an exact catalogue match is itself strong evidence;
 * - a LEGO set read both by number and by name: 1 - (1 - e_number)(1 - e_name);
 * - model = evidence, x 0.85 when the brand was not read with evidence >= 0.6
 *   (a single piece of evidence; for category "lego" the category counts as
 *   the brand); keys of 3 characters or fewer and purely numeric ones ("A1",
 *   "550", a set number outside category "lego") need that brand read at all;
 * - brand = max(brand evidence, 0.9 x model evidence): a model line implies
 *   its maker, a bit less surely than reading the name;
 * - evidence below 0.3 is reported as unknown; above, the confidence reported
 *   is the evidence calibrated to the chance of being right (see detection).
 */
import { readFileSync } from "node:fs";
import { CATEGORIES, type Category, type Detection, MIN_EVIDENCE, NO_DETECTION } from "@pipeline/contracts/asset";
import { type CatalogueRecord, parseCatalogue, readCatalogueFile } from "./catalogue-file.ts";
import type { OcrLine } from "./ocr.ts";

/** A string prepared for matching: `raw` = normalised letters and digits, `skeleton` = with OCR-confusable characters folded. */
type Key = { raw: string; skeleton: string; tokens: number; kind: "name" | "number" };
type Entry = { category: Category; brand: string; model: string; set?: string; colorways?: string[]; keys: Key[] };
type BrandKeys = { brand: string; keys: Key[] };
export type Catalogue = { entries: Entry[]; brands: Map<Category, BrandKeys[]> };

export type CatalogueMatch = { brand: Detection; model: Detection };

const NO_BRAND_FACTOR = 0.85;
const IMPLIED_BRAND_FACTOR = 0.9;
/** Evidence below this is no answer (0.51 once calibrated); the hosted analyzer shares it. */
const MIN_CONFIDENCE = MIN_EVIDENCE;
const CALIBRATION_EXPONENT = 2;
/** OCR words below this are debris, not evidence (only found text lines are read, so little debris reaches here). */
const MIN_WORD_CONFIDENCE = 0.1;
/** A brand read this surely may vouch for a short model key. */
const CORROBORATING_BRAND = 0.6;
/** Keys this short match random OCR debris too easily. */
const SHORT_KEY = 3;
/** A more specific model wins at this share of the best confidence. */
const MORE_SPECIFIC_RATIO = 0.9;
/** Models whose reads differ by less than this many edits are not told apart. */
const HALF_EDIT = 0.5;
/** Share of a key's evidence that its match quality carries whatever Tesseract's word confidence (often low on short words read right). */
const QUALITY_SHARE = 0.5;
const CONFUSION_COST = 0.25;
const FORBIDDEN_COST = 100;

/** The shipped catalogue (data/catalogue.json, in the format users write theirs in). */
const SHIPPED_PATH = new URL("../../data/catalogue.json", import.meta.url);

let shipped: CatalogueRecord[] | null = null;
let defaultCatalogue: Catalogue | null = null;

/** The shipped catalogue's entries, read and checked once. */
export function shippedRecords(): CatalogueRecord[] {
  shipped ??= parseCatalogue(readFileSync(SHIPPED_PATH, "utf8"), "data/catalogue.json");
  return shipped;
}

/** The shipped catalogue, indexed on first use. */
export function catalogue(): Catalogue {
  defaultCatalogue ??= buildCatalogue(shippedRecords());
  return defaultCatalogue;
}

/**
 * The shipped catalogue merged with the user's file at `path` (JSON or CSV,
 * see catalogue-file.ts); throws a CatalogueFileError naming the file and
 * line when it is malformed.
 */
export function loadCatalogue(path?: string): Catalogue {
  if (path === undefined) return catalogue();
  return buildCatalogue(mergeRecords(shippedRecords(), readCatalogueFile(path)));
}

/** The user's entries replace shipped ones for the same item (same set number, or same category, brand and model); others are added. */
export function mergeRecords(base: CatalogueRecord[], overrides: CatalogueRecord[]): CatalogueRecord[] {
  const identity = (r: CatalogueRecord) =>
    r.set !== undefined ? `set ${r.set}` : `${r.category} ${makeKey(r.brand, "name").raw} ${makeKey(r.model, "name").raw}`;
  const merged = new Map(base.map((r) => [identity(r), r]));
  for (const record of overrides) merged.set(identity(record), record);
  return [...merged.values()];
}

export function buildCatalogue(records: CatalogueRecord[]): Catalogue {
  const brandAliases = new Map<string, Set<string>>();
  for (const record of records) {
    const aliases = brandAliases.get(record.brand) ?? new Set<string>();
    for (const alias of record.brandAliases ?? []) aliases.add(alias);
    brandAliases.set(record.brand, aliases);
  }
  const entries: Entry[] = records.map((record) => {
    const keys = [record.model, ...(record.aliases ?? [])].map((text) => makeKey(text, "name"));
    if (record.set !== undefined) keys.push(makeKey(record.set, "number"));
    return {
      category: record.category,
      brand: record.brand,
      model: record.model,
      ...(record.set === undefined ? {} : { set: record.set }),
      ...(record.colorways === undefined ? {} : { colorways: record.colorways }),
      keys,
    };
  });
  const brands = new Map<Category, BrandKeys[]>();
  for (const category of CATEGORIES) {
    const names = [...new Set(entries.filter((e) => e.category === category).map((e) => e.brand))];
    brands.set(
      category,
      names.map((brand) => ({ brand, keys: [brand, ...(brandAliases.get(brand) ?? [])].map((text) => makeKey(text, "name")) })),
    );
  }
  return { entries, brands };
}

/** Brand and model recognised in the OCR lines, among the category's entries (all categories for "other"). */
export function matchCatalogue(lines: OcrLine[], category: Category, index: Catalogue = catalogue()): CatalogueMatch {
  const tokens = tokenize(lines);
  if (tokens.length === 0) return { brand: NO_DETECTION, model: NO_DETECTION };
  const categories: readonly Category[] = category === "other" ? CATEGORIES : [category];

  const brandEvidence = new Map<string, number>();
  for (const c of categories) {
    for (const { brand, keys } of index.brands.get(c) ?? []) {
      const evidence = Math.max(...keys.map((key) => bestRead(tokens, key)?.evidence ?? 0));
      if (evidence > (brandEvidence.get(brand) ?? 0)) brandEvidence.set(brand, evidence);
    }
  }

  const inScope = index.entries.filter((entry) => categories.includes(entry.category));
  const candidates: Candidate[] = [];
  for (const entry of inScope) {
    const candidate = scoreEntry(entry, tokens, brandEvidence, category);
    if (candidate !== null) candidates.push(candidate);
  }

  const best = pickModel(candidates, inScope);
  if (best === null || best.confidence < MIN_CONFIDENCE) {
    const [brand, evidence] = [...brandEvidence].sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
    return { brand: detection(brand, evidence), model: NO_DETECTION };
  }
  const brandRead = brandEvidence.get(best.entry.brand) ?? 0;
  return {
    brand: detection(best.entry.brand, Math.max(brandRead, IMPLIED_BRAND_FACTOR * best.confidence)),
    model: detection(best.value, best.confidence),
  };
}

type Candidate = {
  entry: Entry;
  value: string;
  confidence: number;
  specificity: number;
  skeleton: string;
  /** The read that carries the candidate (its name's, else its number's). */
  read: Read;
};

function scoreEntry(entry: Entry, tokens: Token[], brandEvidence: Map<string, number>, category: Category): Candidate | null {
  // A photo filed under "lego" is LEGO: the category stands in for reading the brand.
  const brandRead = (brandEvidence.get(entry.brand) ?? 0) >= CORROBORATING_BRAND || category === "lego";
  let name: Read | null = null;
  let number: Read | null = null;
  for (const key of entry.keys) {
    // A LEGO set number is proof enough when the photo is known to be LEGO; elsewhere it is just a number.
    const trustedNumber = key.kind === "number" && category === "lego";
    const needsBrand = key.raw.length <= SHORT_KEY || (/^\d+$/.test(key.raw) && !trustedNumber);
    if (needsBrand && !brandRead) continue;
    const read = bestRead(tokens, key);
    if (read === null) continue;
    if (key.kind === "number") {
      if (number === null || read.evidence > number.evidence) number = read;
    } else if (name === null || read.evidence > name.evidence) {
      name = read;
    }
  }
  const carrier = name ?? number;
  if (carrier === null) return null;
  const evidence = 1 - (1 - (name?.evidence ?? 0)) * (1 - (number?.evidence ?? 0));
  return {
    entry,
    value: number !== null && entry.set !== undefined ? `${entry.model} (${entry.set})` : entry.model,
    confidence: evidence * (brandRead ? 1 : NO_BRAND_FACTOR),
    specificity: entry.keys[0]!.raw.length,
    skeleton: entry.keys[0]!.skeleton,
    read: carrier,
  };
}

/**
 * The most confident candidate, except that a more specific model containing
 * it ("EOS R6 Mark II" over "EOS R6") wins when nearly as confident: its
 * extra words were read too. None when the reading does not tell two models
 * apart (a wrong answer is worse than none):
 * - another model, neither containing nor contained in it, comes within half
 *   an edit of it ("Mark II" read as "Mark Il" fits "Mark II" and "Mark III"
 *   nearly alike);
 * - its key's end was not read and another model of the brand starts with
 *   what was ("GEL LYTE" fits "Gel-Lyte III" and "Gel-Lyte V").
 */
function pickModel(candidates: Candidate[], entries: Entry[]): Candidate | null {
  let best: Candidate | null = null;
  for (const c of candidates) if (best === null || c.confidence > best.confidence) best = c;
  if (best === null) return null;
  for (const c of candidates) {
    const moreSpecific = c.specificity > best.specificity && c.skeleton.includes(best.skeleton);
    if (moreSpecific && c.confidence >= MORE_SPECIFIC_RATIO * best.confidence && c.entry.brand === best.entry.brand) best = c;
  }
  const chosen = best;
  const related = (c: Candidate) => c.value === chosen.value || c.skeleton.includes(chosen.skeleton) || chosen.skeleton.includes(c.skeleton);
  const nearly = 1 - HALF_EDIT / chosen.read.key.raw.length;
  if (candidates.some((c) => !related(c) && c.confidence >= nearly * chosen.confidence)) return null;
  const { run, key, cost } = chosen.read;
  const tailUnread = cost > 0 && run.length < key.skeleton.length && key.skeleton.startsWith(run);
  const sibling = (e: Entry) =>
    e.brand === chosen.entry.brand && e.model !== chosen.entry.model && e.keys.some((k) => k.kind === key.kind && k.skeleton.startsWith(run));
  return tailUnread && entries.some(sibling) ? null : chosen;
}

/**
 * The reported confidence: the evidence mapped to the chance of being right,
 * 1 - (1 - evidence)^CALIBRATION_EXPONENT. The exponent was fitted by maximum
 * likelihood (with one pseudo-miss and one pseudo-hit per decile, so a decile
 * that happened to be all right does not claim certainty) on seeds 2-5 of
 * `bun bench/accuracy.ts`; seed 1, whose figures docs/providers.md shows, was not
 * used. Evidence below MIN_CONFIDENCE is no answer.
 */
function detection(value: string, evidence: number): Detection {
  if (evidence < MIN_CONFIDENCE || value === "") return NO_DETECTION;
  return { value, confidence: 1 - (1 - Math.min(1, evidence)) ** CALIBRATION_EXPONENT };
}

// ---------------------------------------------------------------------------
// Normalised text and fuzzy comparison.

type Token = { raw: string; skeleton: string; confidence: number };

function tokenize(lines: OcrLine[]): Token[] {
  const tokens: Token[] = [];
  for (const line of lines) {
    for (const word of line.words) {
      if (word.confidence < MIN_WORD_CONFIDENCE) continue;
      for (const raw of pieces(word.text)) tokens.push({ raw, skeleton: skeletonOf(raw), confidence: word.confidence });
    }
  }
  return tokens;
}

function makeKey(text: string, kind: Key["kind"]): Key {
  const parts = pieces(text);
  const raw = parts.join("");
  return { raw, skeleton: skeletonOf(raw), tokens: parts.length, kind };
}

/** Upper-case letters and digits, split at anything else; accents dropped, "α" (Sony) read as A. */
function pieces(text: string): string[] {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[αΑ]/g, "A")
    .replace(/\|/g, "I")
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((p) => p.length > 0);
}

const CONFUSABLE: Record<string, string> = { O: "0", Q: "0", I: "1", L: "1", S: "5", Z: "2", B: "8", G: "6" };

function skeletonOf(raw: string): string {
  let out = "";
  for (const ch of raw) out += CONFUSABLE[ch] ?? ch;
  return out;
}

/** How a key was read: the best run of consecutive tokens, its edit cost, and its evidence. */
type Read = { key: Key; evidence: number; cost: number; run: string };

/** The run of consecutive tokens with the best evidence for `key`; null when none is within the edit budget. */
function bestRead(tokens: Token[], key: Key): Read | null {
  const allowed = allowedCost(key.raw.length);
  let best: Read | null = null;
  for (let start = 0; start < tokens.length; start++) {
    let raw = "";
    let skeleton = "";
    let weightedConfidence = 0;
    for (let end = start; end < tokens.length && end < start + key.tokens + 2; end++) {
      const token = tokens[end]!;
      raw += token.raw;
      skeleton += token.skeleton;
      weightedConfidence += token.confidence * token.raw.length;
      if (raw.length > key.raw.length + allowed) break;
      if (raw.length < key.raw.length - allowed) continue;
      const cost = editCost(raw, skeleton, key);
      if (cost > allowed) continue;
      const evidence = (1 - cost / key.raw.length) * (QUALITY_SHARE + (1 - QUALITY_SHARE) * (weightedConfidence / raw.length));
      if (best === null || evidence > best.evidence) best = { key, evidence, cost, run: skeleton };
    }
  }
  return best;
}

/** Edit budget: up to 5 characters only confusions (one real edit turns "Sony" into "Sory"), then a quarter of the length. */
function allowedCost(length: number): number {
  if (length <= 5) return 2 * CONFUSION_COST;
  return Math.max(1 + CONFUSION_COST, 0.25 * length);
}

function isDigit(ch: number): boolean {
  return ch >= 48 && ch <= 57;
}

/** Weighted Levenshtein distance between a text run and a key (see the module comment for the costs). */
function editCost(raw: string, skeleton: string, key: Key): number {
  const n = key.raw.length;
  let previous = new Float64Array(n + 1);
  let current = new Float64Array(n + 1);
  for (let j = 1; j <= n; j++) previous[j] = previous[j - 1]! + indelCost(key.raw.charCodeAt(j - 1));
  for (let i = 1; i <= raw.length; i++) {
    const a = raw.charCodeAt(i - 1);
    const aSkeleton = skeleton.charCodeAt(i - 1);
    current[0] = previous[0]! + indelCost(a);
    for (let j = 1; j <= n; j++) {
      const b = key.raw.charCodeAt(j - 1);
      let substitution: number;
      if (a === b) substitution = 0;
      else if (aSkeleton === key.skeleton.charCodeAt(j - 1)) substitution = CONFUSION_COST;
      else substitution = isDigit(a) || isDigit(b) ? FORBIDDEN_COST : 1;
      current[j] = Math.min(previous[j - 1]! + substitution, previous[j]! + indelCost(a), current[j - 1]! + indelCost(b));
    }
    [previous, current] = [current, previous];
  }
  return previous[n]!;
}

function indelCost(ch: number): number {
  return isDigit(ch) ? FORBIDDEN_COST : 1;
}
