/** The opaque `cursor` of a newest-first page: the last item's creation time and id, base64url. */
import { objectIdSchema } from "@pipeline/contracts/asset";
import type { ListPosition } from "@pipeline/assets";

export function encodeCursor(position: ListPosition): string {
  return Buffer.from(`${position.createdAt.toISOString()}|${position.id}`).toString("base64url");
}

/** The position a cursor names, or null when it is not one this service made. */
export function decodeCursor(cursor: string): ListPosition | null {
  const [iso, id, extra] = Buffer.from(cursor, "base64url").toString().split("|");
  const createdAt = new Date(iso ?? "");
  if (extra !== undefined || Number.isNaN(createdAt.getTime()) || !objectIdSchema.safeParse(id).success) return null;
  return { createdAt, id: id as string };
}
