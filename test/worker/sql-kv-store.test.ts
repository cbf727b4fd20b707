import { env, runInDurableObject } from "cloudflare:test";
import { CachedKvStore } from "../../src/durable/cached-kv-store";
import { SqlKvStore } from "../../src/durable/sql-kv-store";
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
