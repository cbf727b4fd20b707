import { afterEach, describe, expect, it } from "vitest";
import { type Client, connect, SignalingError } from "../../src/client";
import { useDevServer } from "../support/dev-server-suite";

/** What an application developer meets first with the client library, from Node, against `wrangler dev`. */
describe("the client library as the README documents it (Node, signaling only)", () => {
  const suite = useDevServer();
  const clients: Client[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  const open = async (name: string) => {
    const client = await connect(suite.server.url, { token: suite.appToken, peerinfo: { name } });
    clients.push(client);
    return client;
  };

  it("rejects a refused token with its ERR_TOKEN_ code at once when the room is named too", async () => {
    // README: connect "rejects with a SignalingError (ERR_TOKEN_… when the server refuses the
    // token, ...)". Without `room` it does, in milliseconds. With `room` the token rides in the
    // handshake query, the worker answers the upgrade HTTP 401, and socket.io-client sees a
    // connect_error without `data.code`: the library must find out why (it once retried until its
    // request timeout and said ERR_CONNECT_FAILED).
    const forged = `${suite.appToken.slice(0, -4)}AAAA`;
    const started = Date.now();
    const failure = await connect(suite.server.url, { token: forged, room: "lobby", requestTimeoutMs: 8_000 }).then(
      (client) => {
        clients.push(client);
        return null;
      },
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(SignalingError);
    expect({ code: (failure as SignalingError).code, fast: Date.now() - started < 3_000 }).toEqual({
      code: expect.stringMatching(/^ERR_TOKEN_/),
      fast: true,
    });
  });

  it("settles both of two joinRoom calls for one room, the first with the room once the owner accepts", async () => {
    const room = `twice-${Date.now()}`;
    const ann = await open("Ann");
    const bob = await open("Bob");
    const owned = await ann.createRoom(room);
    // Kept, so the test ends after Ann's accept is answered, not while it is on its way (the client
    // closed under it rejected it with ERR_DISCONNECTED, unhandled, in about one run in five).
    const accepts: Array<Promise<void>> = [];
    owned.on("join-request", (request) => accepts.push(request.accept()));
    const annSeesBob = owned.once("peer");

    // A double click on a "Join" button: the second request is refused (ERR_JOIN_PENDING), and
    // must leave alone the waiter of the first (joinRoom once deleted it, and the owner's accept
    // found nothing to resolve).
    const first = bob.joinRoom(room).then(
      (joined) => joined.role,
      (error: SignalingError) => error.code,
    );
    const second = bob.joinRoom(room).then(
      (joined) => joined.role,
      (error: SignalingError) => error.code,
    );
    expect(await second).toBe("ERR_JOIN_PENDING");
    await annSeesBob; // the server let Bob in: Ann has him as a peer
    const outcome = await Promise.race([first, new Promise((resolve) => setTimeout(() => resolve("pending"), 5_000))]);
    expect({ first: outcome, bobsRooms: [...bob.rooms.keys()] }).toEqual({ first: "member", bobsRooms: [room] });
    await Promise.all(accepts);
    expect(accepts).toHaveLength(1);
  });
});
