import { describe, expect, it } from "vitest";
import { Rosters } from "../../src/durable/mesh/rosters";

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

  it("keeps rooms of one name in different apps apart", () => {
    const rosters = new Rosters();
    const ours = { app: "demo", room: "lobby" };
    const theirs = { app: "other", room: "lobby" };
    rosters.set(ours, [["alice", "object-1"]]);
    rosters.set(theirs, [["alice", "object-2"]]);
    expect(rosters.homeOf(ours, "alice")).toBe("object-1");
    expect(rosters.homeOf(theirs, "alice")).toBe("object-2");

    rosters.forget(ours);
    expect(rosters.homeOf(ours, "alice")).toBeUndefined();
    expect(rosters.homeOf(theirs, "alice")).toBe("object-2");
    expect(rosters.homeOf({ app: "demo", room: "hall" }, "alice")).toBeUndefined();
  });
});
