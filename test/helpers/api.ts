/** Calls to the public API through the gateway, as a client would make them. */
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

/** Uploads and expects 202; returns the accepted asset and job ids. */
export async function submitUpload(
  baseUrl: string,
  token: string,
  image: Uint8Array,
  category = "sneaker",
  type = "image/png",
): Promise<{ assetId: string; jobId: string }> {
  const response = await upload(baseUrl, token, { image, category, type });
  if (response.status !== 202) throw new Error(`upload answered ${response.status}: ${await response.text()}`);
  return response.json();
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
