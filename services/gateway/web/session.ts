/**
 * The signed-in session: the token (pasted, or the demo user's when
 * DEV_LOGIN is on), kept in localStorage so the list survives a reload, and
 * renewed when a demo token is about to expire.
 */
const TOKEN_KEY = "pipeline.token";
const DEMO_KEY = "pipeline.demo";

export const session: { token: string | null; demo: boolean } = { token: null, demo: false };

/** The claims the page needs, read without verifying (the gateway verifies). */
export function claimsOf(jwt: string): { sub: string; exp: number } | null {
  const part = jwt.split(".")[1];
  if (!part) return null;
  try {
    const json = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof json.sub === "string" && typeof json.exp === "number" ? { sub: json.sub, exp: json.exp } : null;
  } catch {
    return null;
  }
}

export const expiresWithin = (jwt: string, seconds: number) => (claimsOf(jwt)?.exp ?? 0) - seconds < Date.now() / 1000;

export async function mintDemoToken(): Promise<string> {
  const response = await fetch("/api/dev/token", { method: "POST" });
  if (!response.ok) throw new Error(`the demo login answered ${response.status}${response.status === 404 ? " (DEV_LOGIN is off)" : ""}`);
  const body = (await response.json()) as { token: string };
  return body.token;
}

/** The token for every request and socket (re)connection: a demo token about to expire is renewed. */
export async function currentToken(): Promise<string> {
  if (session.token && session.demo && expiresWithin(session.token, 60)) {
    session.token = await mintDemoToken();
    localStorage.setItem(TOKEN_KEY, session.token);
  }
  return session.token ?? "";
}

export function saveSession(): void {
  if (session.token) localStorage.setItem(TOKEN_KEY, session.token);
  if (session.demo) localStorage.setItem(DEMO_KEY, "1");
  else localStorage.removeItem(DEMO_KEY);
}

export function clearSession(): void {
  session.token = null;
  session.demo = false;
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(DEMO_KEY);
}

/** The token a previous visit saved, if any. */
export function savedSession(): { token: string; demo: boolean } | null {
  const token = localStorage.getItem(TOKEN_KEY);
  return token ? { token, demo: localStorage.getItem(DEMO_KEY) === "1" } : null;
}
