/** Gets an app token from a running server the way a backend would: `POST /app`. */
export async function fetchAppToken(baseUrl: string, app: string, password = "demo-chat-password"): Promise<string> {
  const res = await fetch(`${baseUrl}/app`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ app, password }),
  });
  const body = (await res.json()) as { response: { token: string } | null; error: unknown };
  if (!body.response) throw new Error(`POST /app failed: ${JSON.stringify(body.error)}`);
  return body.response.token;
}
