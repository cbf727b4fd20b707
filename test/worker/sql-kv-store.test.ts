import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CachedKvStore } from "../../src/durable/room/cached-kv-store";
import { SqlKvStore } from "../../src/durable/room/sql-kv-store";
import { applyRoomAction, type RoomAction, roomPeers } from "../../src/signaling/room-rules";
import { RoomStore } from "../../src/signaling/room-store";
import { describeKvStoreContract } from "../contract/kv-store-contract";

// Each test gets the SQLite storage of a fresh Durable Object.
describeKvStoreContract("Durable Object SQLite", (body) =>
  runInDurableObject(env.ROOMS.get(env.ROOMS.newUniqueId()), (_instance, state) =>
    body(new SqlKvStore(state.storage.sql)),
  ),
);

describeKvStoreContract("in memory over Durable Object SQLite", (body) =>
  runInDurableObject(env.ROOMS.get(env.ROOMS.newUniqueId()), (_instance, state) =>
    body(new CachedKvStore(new SqlKvStore(state.storage.sql))),
  ),
);

/** The room's requests of a call set-up and its end, on a fresh object's store; the statements they ran. */
describe("a call's statements on SQLite", () => {
  const ref = { app: "demo", room: "lobby" };
  const limits = { maxMembers: 4, maxPendingRequests: 4 };
  const alice = { id: "alice", home: "home-a", peerinfo: null };
  const bob = { id: "bob", home: "home-b", peerinfo: null };

  /** `sql` with every statement it runs recorded, first word and table only. */
  function recorded(sql: SqlStorage): { sql: SqlStorage; statements: string[] } {
    const statements: string[] = [];
    const exec = (query: string, ...bindings: unknown[]) => {
      statements.push(query.trim().split(/\s+/).slice(0, 2).join(" "));
      return sql.exec(query, ...bindings);
    };
    return {
      sql: new Proxy(sql, { get: (target, name) => (name === "exec" ? exec : Reflect.get(target, name)) }),
      statements,
    };
  }

  it("writes what changed, one statement each, and reads storage once", () =>
    runInDurableObject(env.ROOMS.get(env.ROOMS.newUniqueId()), (_instance, state) => {
      const { sql, statements } = recorded(state.storage.sql);
      const kv = new CachedKvStore(new SqlKvStore(sql));
      const act = (actor: typeof alice, action: RoomAction) =>
        applyRoomAction({ kv, ref, limits, now: 1 }, actor, action);

      expect(act(alice, { kind: "create", payload: null }).outcome.ok).toBe(true);
      // One look for the table, which is not there yet; then the table and the owner, join counter and member.
      expect(statements.splice(0)).toEqual(["SELECT 1", "CREATE TABLE", "INSERT OR", "INSERT OR", "INSERT OR"]);
      expect(act(bob, { kind: "join-request", payload: null }).outcome.ok).toBe(true);
      expect(statements.splice(0)).toEqual(["INSERT OR"]);
      expect(act(alice, { kind: "join-answer", accept: true, candidate: "bob", payload: null }).outcome.ok).toBe(true);
      // The request goes, the counter moves, the member comes.
      expect(statements.splice(0)).toEqual(["DELETE FROM", "UPDATE kv_hash", "INSERT OR"]);

      // A fresh instance over the same storage reads it all in one query, then from memory.
      const fresh = recorded(state.storage.sql);
      const again = new CachedKvStore(new SqlKvStore(fresh.sql));
      expect(roomPeers({ kv: again, ref }).map((peer) => peer.id)).toEqual(["alice", "bob"]);
      expect(new RoomStore(again, ref).owner()).toBe("alice");
      expect(fresh.statements).toEqual(["SELECT 1", "SELECT key,"]);
    }));
});
