/**
 * Catalogue files: the shipped data/catalogue.json and the user's file at
 * CATALOGUE_PATH, in one format (docs/providers.md, "Your own catalogue"):
 *
 * - JSON: an array of entries `{category, brand, model, set?, aliases?,
 *   brandAliases?, colorways?}`;
 * - CSV: a header row naming those columns (any order; `category`, `brand`
 *   and `model` required), one entry per row, lists separated by `|`.
 *
 * A file that does not parse or an entry that breaks a rule is refused with
 * the file, the line and what is wrong, so the worker stops at start instead
 * of matching against half a catalogue.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { type Category, categorySchema } from "@pipeline/contracts/asset";

export type CatalogueRecord = {
  category: Category;
  brand: string;
  model: string;
  /** LEGO set number (digits), read on the box as well as the name. */
  set?: string;
  /** Other ways the model is printed ("AJ1", "ILCE-7M3"). */
  aliases?: string[];
  /** Other ways the brand is printed ("Fuji" for Fujifilm); they apply to every entry of the brand. */
  brandAliases?: string[];
  /** Names of the model's colorways ("Chicago", "Bred"): kept with the entry; colours are still named from the pixels. */
  colorways?: string[];
};

export class CatalogueFileError extends Error {
  override name = "CatalogueFileError";
}

const FIELDS = ["category", "brand", "model", "set", "aliases", "brandAliases", "colorways"] as const;
type Field = (typeof FIELDS)[number];
const LIST_FIELDS: readonly Field[] = ["aliases", "brandAliases", "colorways"];
const MAX_TEXT = 200;

/** Reads and checks a catalogue file (JSON or CSV by its extension). */
export function readCatalogueFile(path: string): CatalogueRecord[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new CatalogueFileError(`${path}: cannot be read (${error instanceof Error ? error.message : String(error)})`);
  }
  return parseCatalogue(text, path);
}

/** Parses catalogue text; `name` (a path) says which format, and names the file in errors. */
export function parseCatalogue(text: string, name: string): CatalogueRecord[] {
  const extension = extname(name).toLowerCase();
  if (extension === ".json") return fromJson(text, name);
  if (extension === ".csv") return fromCsv(text, name);
  throw new CatalogueFileError(`${name}: a catalogue is a .json or .csv file`);
}

// ---------------------------------------------------------------------------
// Entries, whatever the format: each field with the line it came from.

type RawEntry = { line: number; fields: Map<string, { value: unknown; line: number }> };

function toRecords(entries: RawEntry[], name: string): CatalogueRecord[] {
  return entries.map((entry) => toRecord(entry, name));
}

function toRecord({ line, fields }: RawEntry, name: string): CatalogueRecord {
  const fail = (at: number, message: string): never => {
    throw new CatalogueFileError(`${name} line ${at}: ${message}`);
  };
  for (const [key, { line: at }] of fields) {
    if (!(FIELDS as readonly string[]).includes(key)) fail(at, `unknown field "${key}" (fields: ${FIELDS.join(", ")})`);
  }
  const text = (field: Field, required: boolean): string | undefined => {
    const found = fields.get(field);
    if (found === undefined || found.value === "" || found.value === null) {
      if (required) fail(found?.line ?? line, `"${field}" is required`);
      return undefined;
    }
    if (typeof found.value !== "string") return fail(found.line, `"${field}" must be text`);
    const value = found.value.trim();
    if (value.length === 0 || value.length > MAX_TEXT) fail(found.line, `"${field}" must be 1 to ${MAX_TEXT} characters`);
    if (!/[\p{L}\p{N}]/u.test(value)) fail(found.line, `"${field}" has no letter or digit to read: "${value}"`);
    return value;
  };
  const list = (field: Field): string[] | undefined => {
    const found = fields.get(field);
    if (found === undefined || found.value === "" || found.value === null) return undefined;
    const items = typeof found.value === "string" ? found.value.split("|") : found.value;
    if (!Array.isArray(items) || items.some((item) => typeof item !== "string")) return fail(found.line, `"${field}" must be a list of text`);
    const cleaned = (items as string[]).map((item) => item.trim()).filter((item) => item.length > 0);
    for (const item of cleaned) {
      if (item.length > MAX_TEXT || !/[\p{L}\p{N}]/u.test(item)) fail(found.line, `"${field}" has an entry with nothing to read or too long: "${item}"`);
    }
    return cleaned.length > 0 ? cleaned : undefined;
  };

  const categoryText = text("category", true)!;
  const category = categorySchema.safeParse(categoryText);
  if (!category.success) fail(fields.get("category")!.line, `"category" must be one of ${categorySchema.options.join(", ")} (got "${categoryText}")`);
  const record: CatalogueRecord = { category: category.data!, brand: text("brand", true)!, model: text("model", true)! };
  const set = text("set", false);
  if (set !== undefined) {
    if (record.category !== "lego") fail(fields.get("set")!.line, `"set" is for category lego only`);
    if (!/^\d{3,7}$/.test(set)) fail(fields.get("set")!.line, `"set" must be a LEGO set number, 3 to 7 digits (got "${set}")`);
    record.set = set;
  }
  for (const field of LIST_FIELDS) {
    const values = list(field);
    if (values !== undefined) (record as Record<string, unknown>)[field] = values;
  }
  return record;
}

// ---------------------------------------------------------------------------
// JSON, with the line of every entry and field: JSON.parse reports neither.

function fromJson(text: string, name: string): CatalogueRecord[] {
  const parser = new JsonWithLines(text, name);
  const entries = parser.document();
  return toRecords(entries, name);
}

class JsonWithLines {
  private at = 0;
  private line = 1;

  constructor(
    private readonly text: string,
    private readonly name: string,
  ) {}

  /** The top-level array of entry objects. */
  document(): RawEntry[] {
    this.space();
    if (this.text[this.at] !== "[") this.fail("a catalogue in JSON is an array of entries: expected '['");
    this.at++;
    const entries: RawEntry[] = [];
    this.space();
    if (this.text[this.at] === "]") {
      this.at++;
    } else {
      for (;;) {
        this.space();
        const line = this.line;
        const value = this.value();
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          throw new CatalogueFileError(`${this.name} line ${line}: an entry must be an object {category, brand, model, ...}`);
        }
        entries.push({ line, fields: (value as { fields: RawEntry["fields"] }).fields });
        if (!this.comma("]")) break;
      }
    }
    this.space();
    if (this.at < this.text.length) this.fail("unexpected text after the array");
    return entries;
  }

  private fail(message: string): never {
    throw new CatalogueFileError(`${this.name} line ${this.line}: ${message}`);
  }

  private space(): void {
    while (this.at < this.text.length) {
      const ch = this.text[this.at]!;
      if (ch === "\n") this.line++;
      else if (ch !== " " && ch !== "\t" && ch !== "\r") return;
      this.at++;
    }
  }

  /** After a member: true when a comma follows, false at `close`. */
  private comma(close: string): boolean {
    this.space();
    const ch = this.text[this.at];
    this.at++;
    if (ch === ",") return true;
    if (ch === close) return false;
    return this.fail(ch === undefined ? `the file ends before '${close}'` : `expected ',' or '${close}', found '${ch}'`);
  }

  /** Any JSON value; objects come back as {fields} with each member's line. */
  private value(): unknown {
    this.space();
    const ch = this.text[this.at];
    if (ch === "{") return this.object();
    if (ch === "[") return this.array();
    if (ch === '"') return this.string();
    const literal = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.at, this.at + 64));
    if (literal === null) return this.fail(ch === undefined ? "the file ends where a value should be" : `unexpected '${ch}'`);
    this.at += literal[0].length;
    return JSON.parse(literal[0]);
  }

  private object(): { fields: RawEntry["fields"] } {
    this.at++; // {
    const fields: RawEntry["fields"] = new Map();
    this.space();
    if (this.text[this.at] === "}") {
      this.at++;
      return { fields };
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail("expected a field name in double quotes");
      const line = this.line;
      const key = this.string();
      this.space();
      if (this.text[this.at] !== ":") this.fail(`expected ':' after "${key}"`);
      this.at++;
      const value = this.value();
      if (fields.has(key)) this.fail(`"${key}" given twice`);
      fields.set(key, { value, line });
      if (!this.comma("}")) return { fields };
    }
  }

  private array(): unknown[] {
    this.at++; // [
    const items: unknown[] = [];
    this.space();
    if (this.text[this.at] === "]") {
      this.at++;
      return items;
    }
    for (;;) {
      items.push(this.value());
      if (!this.comma("]")) return items;
    }
  }

  private string(): string {
    const start = this.at;
    this.at++; // opening quote
    while (this.at < this.text.length) {
      const ch = this.text[this.at]!;
      if (ch === "\\") this.at += 2;
      else if (ch === '"') break;
      else if (ch === "\n") this.fail("a string runs past the end of its line");
      else this.at++;
    }
    if (this.at >= this.text.length) this.fail("a string is not closed");
    this.at++;
    try {
      return JSON.parse(this.text.slice(start, this.at)) as string;
    } catch {
      return this.fail("a string has an invalid escape");
    }
  }
}

// ---------------------------------------------------------------------------
// CSV (RFC 4180: commas, double quotes, "" inside quotes), with a header row.

function fromCsv(text: string, name: string): CatalogueRecord[] {
  const rows = csvRows(text, name).filter((row) => !(row.cells.length === 1 && row.cells[0]!.trim() === ""));
  const header = rows.shift();
  if (header === undefined) throw new CatalogueFileError(`${name} line 1: the file is empty (a header row such as "category,brand,model" comes first)`);
  const columns = header.cells.map((cell) => cell.trim());
  for (const required of ["category", "brand", "model"]) {
    if (!columns.includes(required)) throw new CatalogueFileError(`${name} line ${header.line}: the header has no "${required}" column`);
  }
  for (const column of columns) {
    if (!(FIELDS as readonly string[]).includes(column)) {
      throw new CatalogueFileError(`${name} line ${header.line}: unknown column "${column}" (columns: ${FIELDS.join(", ")})`);
    }
  }
  const entries = rows.map(({ line, cells }): RawEntry => {
    if (cells.length !== columns.length) {
      throw new CatalogueFileError(`${name} line ${line}: ${cells.length} fields where the header has ${columns.length}`);
    }
    return { line, fields: new Map(columns.map((column, i) => [column, { value: cells[i]!, line }])) };
  });
  return toRecords(entries, name);
}

function csvRows(text: string, name: string): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let line = 1;
  let at = 0;
  while (at < text.length) {
    const start = line;
    const cells: string[] = [];
    for (;;) {
      let cell = "";
      if (text[at] === '"') {
        at++;
        for (;;) {
          if (at >= text.length) throw new CatalogueFileError(`${name} line ${start}: a quoted field is not closed`);
          const ch = text[at]!;
          if (ch === '"' && text[at + 1] === '"') {
            cell += '"';
            at += 2;
          } else if (ch === '"') {
            at++;
            break;
          } else {
            if (ch === "\n") line++;
            cell += ch;
            at++;
          }
        }
        if (at < text.length && text[at] !== "," && text[at] !== "\n" && text[at] !== "\r") {
          throw new CatalogueFileError(`${name} line ${line}: text after a closing quote`);
        }
      } else {
        while (at < text.length && text[at] !== "," && text[at] !== "\n" && text[at] !== "\r") cell += text[at++];
        if (cell.includes('"')) throw new CatalogueFileError(`${name} line ${line}: a field with a quote must be quoted whole ("like ""this""")`);
      }
      cells.push(cell);
      if (text[at] === ",") {
        at++;
        continue;
      }
      if (text[at] === "\r") at++;
      if (text[at] === "\n") {
        at++;
        line++;
      }
      break;
    }
    rows.push({ line: start, cells });
  }
  return rows;
}
