import { createServer } from "node:http";
import { type WebSocket, WebSocketServer } from "ws";

/**
 * The machine floor for `npm run bench`: the least a relay can do, in Node
 * with the `ws` package. `/pair?id=X&side=a|b`; each frame goes to the other side.
 */
export async function startMachineFloor(): Promise<{ url: string; close(): Promise<void> }> {
  const pairs = new Map<string, { a?: WebSocket; b?: WebSocket }>();
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (ws, request) => {
    const url = new URL(request.url ?? "/", "http://floor");
    const id = url.searchParams.get("id") ?? "";
    const side = url.searchParams.get("side") === "b" ? "b" : "a";
    const pair = pairs.get(id) ?? {};
    pair[side] = ws;
    pairs.set(id, pair);
    ws.on("message", (data, isBinary) => pair[side === "a" ? "b" : "a"]?.send(data, { binary: isBinary }));
    ws.on("close", () => pairs.delete(id));
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => http.close(() => resolve()));
      }),
  };
}
