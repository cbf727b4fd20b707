/**
 * The machine floor of `npm run bench`: the least a relay can do, in Node
 * with the `ws` package, run as its own process. `/pair?id=X&side=a|b`; each
 * frame goes to the other side, untouched. Prints `listening <port>`.
 */
import { createServer } from "node:http";
import { type WebSocket, WebSocketServer } from "ws";

const pairs = new Map<string, { a?: WebSocket; b?: WebSocket }>();
const http = createServer((request, response) => {
  response.writeHead(request.url === "/health" ? 200 : 404).end();
});
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, skipUTF8Validation: true });
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
http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = http.address();
  console.log(`listening ${typeof address === "object" && address ? address.port : 0}`);
});
process.on("SIGTERM", () => process.exit(0));
