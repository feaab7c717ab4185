/**
 * Ceiling (c), run as its own process by ceilings.ts: a bare `Bun.serve`
 * that reads the multipart upload (`await req.formData()`) and discards it.
 * Listens on PORT; GET /healthz answers 200.
 */
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  async fetch(request) {
    if (request.method === "GET") return new Response("ok");
    const form = await request.formData();
    const image = form.get("image");
    return Response.json({ size: image instanceof File ? image.size : 0 }, { status: 202 });
  },
});
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
