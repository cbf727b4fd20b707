/**
 * A larger fuzz run than the test suite's: `npm run fuzz -- [clients] [frames per client] [seed]`.
 * Starts `wrangler dev` (throw-away state), sets up a call, sends hostile frames from raw
 * WebSocket clients, then checks that the call still works and that nothing crashed.
 */
import WebSocket from "ws";
import { fetchAppToken } from "../test/support/app-token";
import { fuzzFrame, random } from "../test/support/fuzz-frames";
import { connectPeer } from "../test/support/peer";
import { startDevServer } from "../test/support/wrangler-dev";

const [clients = 200, framesPerClient = 200, seed = 1] = process.argv.slice(2).map(Number);
const APP = "fuzz-app";
const ROOM = "fuzz-target";

const server = await startDevServer({
  vars: { RATE_LIMIT_PER_SECOND: "100000", RATE_LIMIT_BURST: "100000", UPGRADE_LIMIT: "off" },
});
try {
  const appToken = await fetchAppToken(server.url, APP);
  const alice = await connectPeer({ url: server.url, appToken, query: { app: APP, room: ROOM, token: appToken } });
  const bob = await connectPeer({ url: server.url, appToken });
  await alice.socket.emitWithAck("room-create-request", { auth: alice.session, room: ROOM });
  bob.socket.emit("room-join-request", { auth: bob.session, room: ROOM });
  await alice.next("room-join-request");
  await alice.socket.emitWithAck("room-join-accept", { auth: alice.session, room: ROOM, peer_id: bob.id });
  await bob.next("room-join-accept");

  const started = Date.now();
  let sent = 0;
  for (let batch = 0; batch < clients; batch += 50) {
    const sockets = await Promise.all(
      Array.from({ length: Math.min(50, clients - batch) }, async (_, i) => {
        const query = (batch + i) % 2 ? `&app=${APP}&room=${ROOM}&token=${encodeURIComponent(appToken)}` : "";
        const ws = new WebSocket(`${server.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket${query}`);
        await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
        ws.send("40");
        const next = random(seed * 100_000 + batch + i);
        for (let n = 0; n < framesPerClient && ws.readyState === WebSocket.OPEN; n++) {
          ws.send(fuzzFrame(next, 65_536));
          sent++;
        }
        return ws;
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all(sockets.map((ws) => new Promise((r) => ws.once("close", r).close())));
  }
  const seconds = (Date.now() - started) / 1000;

  const ack = await alice.socket.emitWithAck("relay-ice-candidate", {
    auth: alice.session,
    room: ROOM,
    to: bob.id,
    ice_candidate: { candidate: "after-fuzz", sdpMLineIndex: 0 },
  });
  await bob.next("ice-candidate");
  const output = server.output();
  const refusals = output.match(/"log":"refusal"/g)?.length ?? 0;
  const crashes = output.match(/Uncaught|ERR_INTERNAL|internal error/g)?.length ?? 0;
  console.log(
    JSON.stringify(
      {
        clients,
        framesPerClient,
        seed,
        sent,
        seconds,
        framesPerSecond: Math.round(sent / seconds),
        refusals,
        crashes,
        callAfterFuzz: ack.ok,
      },
      null,
      2,
    ),
  );
  alice.close();
  bob.close();
  if (!ack.ok || crashes > 0) process.exitCode = 1;
} finally {
  await server.stop();
}
