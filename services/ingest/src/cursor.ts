/**
 * The opaque `cursor` of a newest-first page: the last item's creation time,
 * id and list bucket, base64url. A cursor made before buckets (time and id
 * only) is still accepted: its walk starts at the user's top bucket.
 */
import type { ListPosition } from "@pipeline/assets";
import { objectIdSchema } from "@pipeline/contracts/asset";

const BUCKET = /^\d{1,9}$/;

export function encodeCursor(position: ListPosition): string {
  const parts = [position.createdAt.toISOString(), position.id, ...(position.bucket !== undefined ? [String(position.bucket)] : [])];
  return Buffer.from(parts.join("|")).toString("base64url");
}

/** The position a cursor names, or null when it is not one this service made. */
export function decodeCursor(cursor: string): ListPosition | null {
  const [iso, id, bucket, extra] = Buffer.from(cursor, "base64url").toString().split("|");
  const createdAt = new Date(iso ?? "");
  if (extra !== undefined || Number.isNaN(createdAt.getTime()) || !objectIdSchema.safeParse(id).success) return null;
  if (bucket !== undefined && !BUCKET.test(bucket)) return null;
  return { createdAt, id: id as string, ...(bucket !== undefined ? { bucket: Number(bucket) } : {}) };
}
