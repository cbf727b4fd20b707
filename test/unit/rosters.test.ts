import { describe, expect, it } from "vitest";
import { Rosters } from "../../src/durable/rosters";

describe("Rosters", () => {
  it("knows where each member of a room is held, until the room is forgotten", () => {
    const rosters = new Rosters();
    const lobby = { app: "demo", room: "lobby" };
    rosters.set(lobby, [
      ["alice", "object-1"],
      ["bob", "object-2"],
    ]);
    expect(rosters.homeOf(lobby, "bob")).toBe("object-2");
    expect(rosters.homeOf(lobby, "carol")).toBeUndefined();

    rosters.set(lobby, [["alice", "object-1"]]);
    expect(rosters.homeOf(lobby, "bob")).toBeUndefined();

    rosters.forget(lobby);
    expect(rosters.homeOf(lobby, "alice")).toBeUndefined();
  });

  it("keeps rooms of one name in different apps apart, whatever characters their names hold", () => {
    const rosters = new Rosters();
    // Joined naively ("a" + "," + "b,c" and "a,b" + "," + "c"), these two would share a key.
    const first = { app: "a", room: "b,c" };
    const second = { app: "a,b", room: "c" };
    rosters.set(first, [["alice", "object-1"]]);
    rosters.set(second, [["alice", "object-2"]]);
    expect(rosters.homeOf(first, "alice")).toBe("object-1");
    expect(rosters.homeOf(second, "alice")).toBe("object-2");

    rosters.forget(first);
    expect(rosters.homeOf(first, "alice")).toBeUndefined();
    expect(rosters.homeOf(second, "alice")).toBe("object-2");
    expect(rosters.homeOf({ app: "demo", room: "b,c" }, "alice")).toBeUndefined();
  });
});
