/**
 * The opaque `cursor` of a newest-first page, as each store adapter writes it:
 * base64url of `<format>|<createdAt ISO>|<id>|<the adapter's own fields>`. The
 * format names the adapter (and its version), so a cursor made by one adapter
 * is refused by the other (a 400), never misread.
 */
import { objectIdSchema } from "@pipeline/contracts/asset";
import type { AssetDoc } from "./model.ts";

/** Where a page starts: after the item of this creation time and id. */
export interface ListPosition {
  createdAt: Date;
  id: string;
}

/** A cursor the store cannot read: made by another adapter, or not a cursor at all (ingest answers 400). */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
  constructor() {
    super("cursor is invalid");
  }
}

export function positionOf(asset: Pick<AssetDoc, "_id" | "createdAt">): ListPosition {
  return { createdAt: asset.createdAt, id: asset._id.toHexString() };
}

export function encodeCursor(format: string, position: ListPosition, extra: string[] = []): string {
  return Buffer.from([format, position.createdAt.toISOString(), position.id, ...extra].join("|")).toString("base64url");
}

/** The position and extra fields of a cursor in `format`, or null for any other text. */
export function decodeCursor(format: string, cursor: string): { position: ListPosition; extra: string[] } | null {
  const [tag, iso, id, ...extra] = Buffer.from(cursor, "base64url").toString().split("|");
  return tag === format ? readPosition(iso, id, extra) : null;
}

/** A time and an id, checked; null when either is not one. */
export function readPosition(iso: string | undefined, id: string | undefined, extra: string[] = []): { position: ListPosition; extra: string[] } | null {
  const createdAt = new Date(iso ?? "");
  if (!iso || Number.isNaN(createdAt.getTime()) || !objectIdSchema.safeParse(id).success) return null;
  return { position: { createdAt, id: id as string }, extra };
}
