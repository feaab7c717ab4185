import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCatalogue, loadCatalogue, matchCatalogue, mergeRecords, shippedRecords } from "./catalogue.ts";
import { CatalogueFileError, parseCatalogue, readCatalogueFile } from "./catalogue-file.ts";

const dir = mkdtempSync(join(tmpdir(), "catalogue-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The error a malformed file raises: its message names the file and the line. */
function errorOf(text: string, name: string): string {
  try {
    parseCatalogue(text, name);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogueFileError);
    return (error as Error).message;
  }
  throw new Error("expected the catalogue to be refused");
}

const line = (...words: string[]) => [{ text: words.join(" "), confidence: 0.9, words: words.map((text) => ({ text, confidence: 0.9 })) }];

describe("catalogue files", () => {
  test("JSON: an array of entries with optional set, aliases, brand aliases and colorways", () => {
    const records = parseCatalogue(
      JSON.stringify([
        { category: "sneaker", brand: "Nike", model: "Air Max 1", aliases: ["AM1"], colorways: ["Anniversary Red"] },
        { category: "lego", brand: "LEGO", model: "Hogwarts Castle", set: "71043" },
        { category: "other", brand: "Tamiya", model: "Wild One", brandAliases: ["TAMIYA INC"] },
      ]),
      "mine.json",
    );
    expect(records).toEqual([
      { category: "sneaker", brand: "Nike", model: "Air Max 1", aliases: ["AM1"], colorways: ["Anniversary Red"] },
      { category: "lego", brand: "LEGO", model: "Hogwarts Castle", set: "71043" },
      { category: "other", brand: "Tamiya", model: "Wild One", brandAliases: ["TAMIYA INC"] },
    ]);
  });

  test("CSV: a header row, columns in any order, quoted fields, lists separated by |", () => {
    const csv = 'model,brand,category,aliases\n"Pegasus 41",Nike,sneaker,Peg 41|Pegasus\r\n\n"Zoom ""Fly"" 6",Nike,sneaker,\n';
    expect(parseCatalogue(csv, "mine.csv")).toEqual([
      { category: "sneaker", brand: "Nike", model: "Pegasus 41", aliases: ["Peg 41", "Pegasus"] },
      { category: "sneaker", brand: "Nike", model: 'Zoom "Fly" 6' },
    ]);
  });

  test("a malformed JSON file is refused with its line and what is wrong", () => {
    const broken = '[\n  {"category": "camera", "brand": "Canon", "model": "EOS R5"},\n  {"category": "camera", "brand": "Canon" "model": "EOS R6"}\n]';
    expect(errorOf(broken, "/data/mine.json")).toBe("/data/mine.json line 3: expected ',' or '}', found '\"'");
    expect(errorOf('[\n {"category": "shoe", "brand": "Nike", "model": "Dunk"}\n]', "x.json")).toBe(
      'x.json line 2: "category" must be one of sneaker, lego, camera, other (got "shoe")',
    );
    expect(errorOf('[\n {"category": "camera",\n  "brand": "Canon"}\n]', "x.json")).toBe('x.json line 2: "model" is required');
    expect(errorOf('[{"category": "camera", "brand": "Canon", "model": "R5",\n "modle": "R5"}]', "x.json")).toStartWith('x.json line 2: unknown field "modle"');
    expect(errorOf('[{"category": "lego", "brand": "LEGO", "model": "Falcon",\n "set": "75-192"}]', "x.json")).toBe(
      'x.json line 2: "set" must be a LEGO set number, 3 to 7 digits (got "75-192")',
    );
    expect(errorOf('{"sneaker": []}', "x.json")).toBe("x.json line 1: a catalogue in JSON is an array of entries: expected '['");
    expect(errorOf('[\n {"category": "camera", "brand": "Canon", "model": "R5"},\n', "x.json")).toBe("x.json line 3: the file ends where a value should be");
  });

  test("a malformed CSV file is refused with its line and what is wrong", () => {
    expect(errorOf("brand,model\nNike,Dunk Low\n", "x.csv")).toBe('x.csv line 1: the header has no "category" column');
    expect(errorOf("category,brand,model\nsneaker,Nike,Dunk Low\nsneaker,Nike\n", "x.csv")).toBe("x.csv line 3: 2 fields where the header has 3");
    expect(errorOf('category,brand,model\nsneaker,Nike,"Dunk\nLow\ncamera,Canon,R5\n', "x.csv")).toBe("x.csv line 2: a quoted field is not closed");
    expect(errorOf("category,brand,model\nsneaker,Nike,Dunk Low\nsneaker,,Cortez\n", "x.csv")).toBe('x.csv line 3: "brand" is required');
    expect(errorOf("category,brand,model\n", "x.txt")).toBe("x.txt: a catalogue is a .json or .csv file");
  });

  test("a missing file is refused with its path", () => {
    expect(() => readCatalogueFile(join(dir, "absent.json"))).toThrow(/absent\.json: cannot be read/);
  });

  test("the user's entries are merged with the shipped ones, and win for the same item", () => {
    const shipped = shippedRecords();
    const path = file(
      "mine.csv",
      'category,brand,model,aliases,set\nsneaker,Nike,Pegasus 41,,\nlego,LEGO,"Millennium Falcon, Ultimate",,75192\nsneaker,Nike,Air Force 1,Force Classic,\n',
    );
    const merged = loadCatalogue(path);
    // One new entry; the set and the Air Force 1 replace the shipped ones.
    expect(merged.entries.length).toBe(shipped.length + 1);
    expect(matchCatalogue(line("Nike", "Pegasus", "41"), "sneaker", merged).model.value).toBe("Pegasus 41");
    expect(matchCatalogue(line("75192"), "lego", merged).model.value).toBe("Millennium Falcon, Ultimate (75192)");
    expect(matchCatalogue(line("Nike", "Force", "Classic"), "sneaker", merged).model.value).toBe("Air Force 1");
    // The shipped catalogue itself is unchanged.
    expect(matchCatalogue(line("Nike", "Pegasus", "41"), "sneaker").model.value).not.toBe("Pegasus 41");
  });

  test("merging replaces by identity: set number for LEGO, category + brand + model otherwise", () => {
    const base = [
      { category: "camera" as const, brand: "Canon", model: "EOS R5" },
      { category: "lego" as const, brand: "LEGO", model: "Falcon", set: "75192" },
    ];
    const merged = mergeRecords(base, [
      { category: "camera", brand: "CANON", model: "eos-r5", aliases: ["R5"] },
      { category: "lego", brand: "LEGO", model: "Millennium Falcon", set: "75192" },
    ]);
    expect(merged).toEqual([
      { category: "camera", brand: "CANON", model: "eos-r5", aliases: ["R5"] },
      { category: "lego", brand: "LEGO", model: "Millennium Falcon", set: "75192" },
    ]);
    expect(buildCatalogue(merged).entries.length).toBe(2);
  });

  test("the shipped catalogue is valid by the same rules and has no duplicate items", () => {
    const records = shippedRecords();
    expect(mergeRecords([], records).length).toBe(records.length);
  });
});
