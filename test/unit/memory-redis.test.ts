import { describeKvStoreContract } from "../contract/kv-store-contract";
import { MemoryRedis } from "../support/memory-redis";

describeKvStoreContract("in-memory Redis shim", async (body) => body(new MemoryRedis()));
