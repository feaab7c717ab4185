/** Calls to the public API through the gateway, as a client would make them. */
import { ApiError, createClient } from "@pipeline/client";
import type { Category } from "@pipeline/contracts";

export async function upload(
  baseUrl: string,
  token: string | undefined,
  fields: { image?: Uint8Array | string; category?: string; filename?: string; type?: string },
): Promise<Response> {
  const form = new FormData();
  if (fields.image !== undefined)
    form.append("image", new File([fields.image as BlobPart], fields.filename ?? "photo.png", { type: fields.type ?? "image/png" }));
  if (fields.category !== undefined) form.append("category", fields.category);
  return fetch(`${baseUrl}/api/assets/analyze-queue`, { method: "POST", body: form, headers: token ? { authorization: `Bearer ${token}` } : {} });
}

/** Uploads through @pipeline/client and expects 202; returns the accepted asset and job ids. */
export async function submitUpload(
  baseUrl: string,
  token: string,
  image: Uint8Array,
  category: Category = "sneaker",
  type = "image/png",
): Promise<{ assetId: string; jobId: string }> {
  try {
    return await createClient({ baseUrl, token }).upload(new Blob([image as BlobPart], { type }), {
      category,
      filename: `photo.${type.split("/")[1] ?? "png"}`,
    });
  } catch (error) {
    if (error instanceof ApiError) throw new Error(`upload answered ${error.status}: ${error.code}: ${error.message}`);
    throw error;
  }
}

export function getJson(baseUrl: string, path: string, token: string): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

export function postJson(baseUrl: string, path: string, token: string, body?: unknown): Promise<Response> {
  return fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Pauses or resumes `ai-processing` through the admin API; true when it answered 200. */
export async function setAiQueuePaused(baseUrl: string, adminToken: string, paused: boolean): Promise<boolean> {
  return (await postJson(baseUrl, `/api/admin/queues/ai-processing/${paused ? "pause" : "resume"}`, adminToken)).status === 200;
}
