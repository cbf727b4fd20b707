/**
 * The Node comparator of `npm run bench`: a stock socket.io 4 server hosting
 * the project's signaling rules, what a user would run instead of Durable
 * Objects. Run as its own process so its CPU is its own:
 *
 *   TOKEN_SECRET=... PORT=0 node --import tsx bench/node-server/main.ts
 *
 * With `REDIS_URL`, it is one of several processes sharing a Redis server, as
 * the original server scales: rooms in Redis, events to sockets of other
 * processes through `@socket.io/redis-adapter`.
 *
 * Prints `listening <port>` once it accepts connections.
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient, type RedisClientType } from "redis";
import { Server } from "socket.io";
import { memoryRooms, redisRooms } from "./room-state";
import { NODE_SETTINGS } from "./settings";
import { hostSignaling } from "./signaling-host";

const secret = process.env.TOKEN_SECRET;
if (!secret) throw new Error("TOKEN_SECRET is not set");

const http = createServer((request, response) => {
  if (request.url === "/health") {
    response.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    return;
  }
  response.writeHead(404).end();
});
// The same transport and heartbeat settings as the Durable Object server; socket.io's defaults otherwise
// (its largest frame, maxHttpBufferSize, is 1 MB).
const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  pingInterval: NODE_SETTINGS.pingInterval,
  pingTimeout: NODE_SETTINGS.pingTimeout,
});
const redisUrl = process.env.REDIS_URL;
let clients: RedisClientType[] = [];
if (redisUrl) {
  // Three connections: the adapter's publisher and subscriber, and one for the rooms' commands.
  clients = await Promise.all(
    [0, 1, 2].map(() => createClient({ url: redisUrl }).connect() as Promise<RedisClientType>),
  );
  const [pub, sub, data] = clients as [RedisClientType, RedisClientType, RedisClientType];
  io.adapter(createAdapter(pub, sub));
  hostSignaling(io, { secret, rooms: redisRooms(data) });
} else {
  hostSignaling(io, { secret, rooms: memoryRooms() });
}

http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = http.address();
  console.log(`listening ${typeof address === "object" && address ? address.port : 0}`);
});
process.on("SIGTERM", () => {
  io.close();
  for (const client of clients) client.destroy();
  process.exit(0);
});
