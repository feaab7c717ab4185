/**
 * Matches OCR text against the catalogue of known brands and models
 * (data/catalogue.json, loaded once).
 *
 * Matching is on normalised text: upper case, accents dropped, and spacing
 * and punctuation ignored (runs of 1..n+2 consecutive OCR tokens are joined
 * and compared with a key of n tokens, so "GEL LYTE III" meets "Gel-Lyte III").
 * Words OCR read with confidence < 0.3 are ignored (texture read as letters).
 * The comparison is an edit distance in which characters that OCR confuses
 * (O/0, Q/0, I/L/1, S/5, Z/2, B/8, G/6) cost 0.25, other letter edits 1, and
 * any edit that changes a digit is forbidden: "EOS R6" never matches
 * "EOS R5", nor "Air Jordan 11" "Air Jordan 1". Keys of up to 5 characters
 * tolerate confusions only; longer ones a cost of a quarter of their length.
 *
 * Confidences:
 * - quality q = 1 - cost / key length (1 exact, 0.95 one confusion in 5, 0.9
 *   one misspelling in 10);
 * - evidence of a key = q x OCR confidence of the matched words (mean
 *   weighted by characters);
 * - a LEGO set read both by number and by name: 1 - (1 - e_number)(1 - e_name);
 * - model = evidence, x 0.85 when the brand was not read with evidence >= 0.6
 *   (a single piece of evidence; for category "lego" the category counts as
 *   the brand); keys of 3 characters or fewer and purely numeric ones ("A1",
 *   "550", a set number outside category "lego") need that brand read at all;
 * - brand = max(brand evidence, 0.9 x model confidence): a model line implies
 *   its maker, a bit less surely than reading the name;
 * - anything below 0.3 is reported as unknown.
 */
import { type Category, type Detection, NO_DETECTION } from "@pipeline/contracts/asset";
import catalogueJson from "../../../data/catalogue.json";
import type { OcrLine } from "./ocr.ts";

type CatalogueCategory = Exclude<Category, "other">;
type ModelRecord = { brand: string; model: string; aliases?: string[] };
type SetRecord = { set: string; name: string; theme?: string };
export type CatalogueData = {
  brandAliases?: Record<string, string[]>;
  sneaker: ModelRecord[];
  camera: ModelRecord[];
  lego: SetRecord[];
};

/** A string prepared for matching: `raw` = normalised letters and digits, `skeleton` = with OCR-confusable characters folded. */
type Key = { raw: string; skeleton: string; tokens: number; kind: "name" | "number" };
type Entry = { category: CatalogueCategory; brand: string; model: string; set?: string; keys: Key[] };
type BrandKeys = { brand: string; keys: Key[] };
export type Catalogue = { entries: Entry[]; brands: Map<CatalogueCategory, BrandKeys[]> };

export type CatalogueMatch = { brand: Detection; model: Detection };

const LEGO_BRAND = "LEGO";
const NO_BRAND_FACTOR = 0.85;
const IMPLIED_BRAND_FACTOR = 0.9;
const MIN_CONFIDENCE = 0.3;
/** OCR words below this are debris (texture read as letters), not evidence. */
const MIN_WORD_CONFIDENCE = 0.3;
/** A brand read this surely may vouch for a short model key. */
const CORROBORATING_BRAND = 0.6;
/** Keys this short match random OCR debris too easily. */
const SHORT_KEY = 3;
const CONFUSION_COST = 0.25;
const FORBIDDEN_COST = 100;

let defaultCatalogue: Catalogue | null = null;

/** The bundled catalogue, indexed on first use. */
export function catalogue(): Catalogue {
  defaultCatalogue ??= buildCatalogue(catalogueJson as CatalogueData);
  return defaultCatalogue;
}

export function buildCatalogue(data: CatalogueData): Catalogue {
  const aliasesOf = (brand: string) => data.brandAliases?.[brand] ?? [];
  const entries: Entry[] = [];
  for (const category of ["sneaker", "camera"] as const) {
    for (const record of data[category]) {
      const keys = [record.model, ...(record.aliases ?? [])].map((text) => makeKey(text, "name"));
      entries.push({ category, brand: record.brand, model: record.model, keys });
    }
  }
  for (const record of data.lego) {
    const keys = [makeKey(record.name, "name"), makeKey(record.set, "number")];
    entries.push({ category: "lego", brand: LEGO_BRAND, model: record.name, set: record.set, keys });
  }
  const brands = new Map<CatalogueCategory, BrandKeys[]>();
  for (const category of ["sneaker", "camera", "lego"] as const) {
    const names = [...new Set(entries.filter((e) => e.category === category).map((e) => e.brand))];
    brands.set(
      category,
      names.map((brand) => ({ brand, keys: [brand, ...aliasesOf(brand)].map((text) => makeKey(text, "name")) })),
    );
  }
  return { entries, brands };
}

/** Brand and model recognised in the OCR lines, among the category's entries (all categories for "other"). */
export function matchCatalogue(lines: OcrLine[], category: Category, index: Catalogue = catalogue()): CatalogueMatch {
  const tokens = tokenize(lines);
  if (tokens.length === 0) return { brand: NO_DETECTION, model: NO_DETECTION };
  const categories: CatalogueCategory[] = category === "other" ? ["sneaker", "camera", "lego"] : [category];

  const brandEvidence = new Map<string, number>();
  for (const c of categories) {
    for (const { brand, keys } of index.brands.get(c) ?? []) {
      const evidence = Math.max(...keys.map((key) => bestEvidence(tokens, key)));
      if (evidence > (brandEvidence.get(brand) ?? 0)) brandEvidence.set(brand, evidence);
    }
  }

  const candidates: Candidate[] = [];
  for (const entry of index.entries) {
    if (!categories.includes(entry.category)) continue;
    const candidate = scoreEntry(entry, tokens, brandEvidence, category);
    if (candidate !== null) candidates.push(candidate);
  }

  const best = pickModel(candidates);
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

type Candidate = { entry: Entry; value: string; confidence: number; specificity: number; skeleton: string };

function scoreEntry(entry: Entry, tokens: Token[], brandEvidence: Map<string, number>, category: Category): Candidate | null {
  // A photo filed under "lego" is LEGO: the category stands in for reading the brand.
  const brandRead = (brandEvidence.get(entry.brand) ?? 0) >= CORROBORATING_BRAND || category === "lego";
  let nameEvidence = 0;
  let numberEvidence = 0;
  for (const key of entry.keys) {
    // A LEGO set number is proof enough when the photo is known to be LEGO; elsewhere it is just a number.
    const trustedNumber = key.kind === "number" && category === "lego";
    const needsBrand = key.raw.length <= SHORT_KEY || (/^\d+$/.test(key.raw) && !trustedNumber);
    if (needsBrand && !brandRead) continue;
    const evidence = bestEvidence(tokens, key);
    if (evidence === 0) continue;
    if (key.kind === "number") numberEvidence = Math.max(numberEvidence, evidence);
    else nameEvidence = Math.max(nameEvidence, evidence);
  }
  if (nameEvidence === 0 && numberEvidence === 0) return null;
  const evidence = 1 - (1 - nameEvidence) * (1 - numberEvidence);
  return {
    entry,
    value: numberEvidence > 0 && entry.set !== undefined ? `${entry.model} (${entry.set})` : entry.model,
    confidence: evidence * (brandRead ? 1 : NO_BRAND_FACTOR),
    specificity: entry.keys[0]!.raw.length,
    skeleton: entry.keys[0]!.skeleton,
  };
}

/**
 * The most confident candidate, except that a more specific model containing
 * it ("EOS R6 Mark II" over "EOS R6") wins when nearly as confident: its
 * extra words were read too.
 */
function pickModel(candidates: Candidate[]): Candidate | null {
  let best: Candidate | null = null;
  for (const c of candidates) if (best === null || c.confidence > best.confidence) best = c;
  if (best === null) return null;
  for (const c of candidates) {
    const moreSpecific = c.specificity > best.specificity && c.skeleton.includes(best.skeleton);
    if (moreSpecific && c.confidence >= 0.8 * best.confidence && c.entry.brand === best.entry.brand) best = c;
  }
  return best;
}

function detection(value: string, confidence: number): Detection {
  return confidence >= MIN_CONFIDENCE && value !== "" ? { value, confidence: Math.min(1, confidence) } : NO_DETECTION;
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

/** Best q x OCR confidence over runs of consecutive tokens; 0 when no run matches. */
function bestEvidence(tokens: Token[], key: Key): number {
  const allowed = allowedCost(key.raw.length);
  let best = 0;
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
      const evidence = (1 - cost / key.raw.length) * (weightedConfidence / raw.length);
      if (evidence > best) best = evidence;
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
