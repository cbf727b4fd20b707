import { describe, expect, it } from "vitest";
import { isValidAppName } from "../../src/auth/app-name";
import { placementFromQuery, roomObjectName } from "../../src/socket/placement";

const url = (query: string) => new URL(`http://edge.test/socket.io/?EIO=4&transport=websocket&${query}`);

describe("placementFromQuery", () => {
  it.each([
    ["no room: an object of its own", "", { kind: "own" }],
    ["an app alone: its own object, bound to no app (only a token proves one)", "app=demo", { kind: "own" }],
    ["app and room: the room's object", "app=demo&room=lobby", { kind: "room", app: "demo", room: "lobby" }],
    ["a room with spaces", "app=demo&room=my%20room", { kind: "room", app: "demo", room: "my room" }],
    ["a room with a slash", "app=demo&room=a%2Fb", { kind: "room", app: "demo", room: "a/b" }],
  ])("places %s", (_label, query, placement) => {
    expect(placementFromQuery(url(query))).toEqual({ ok: true, placement });
  });

  it.each([
    ["a room without app", "room=lobby"],
    ["a bad app", "app=a/b&room=lobby"],
    ["a bad app, even without a room", "app=../etc"],
    ["an empty room", "app=demo&room="],
    ["a room with a newline", "app=demo&room=a%0Ab"],
    ["a 129-character room", `app=demo&room=${"r".repeat(129)}`],
  ])("refuses %s with code 3 and the rule in its detail", (_label, query) => {
    expect(placementFromQuery(url(query))).toMatchObject({
      ok: false,
      error: { code: 3, message: "Bad request", detail: expect.any(String) },
    });
  });
});

describe("roomObjectName", () => {
  it("names the object after the app and the room", () => {
    expect(roomObjectName("demo", "lobby")).toBe("room:demo/lobby");
  });

  // Apps made of every character an app name may hold, rooms that put those characters
  // and "/" at either end: any separator an app name could contain makes two pairs collide.
  const apps = ["a", "b", "ab", "a.b", "a-b", "a_b", "a.", "a-", "a_"];
  const rooms = ["c", "bc", "b/c", "/c", "c/", ".c", "-c", "_c", "b.c", "b-c", "b_c", "lobby"];

  it("gives every (app, room) pair its own object: app `ab` + room `c` is not app `a` + room `bc`", () => {
    expect(apps.every(isValidAppName)).toBe(true);
    const names = new Map<string, string>();
    for (const app of apps) {
      for (const room of rooms) {
        const name = roomObjectName(app, room);
        expect(names.get(name), `${app} + ${room} shares ${name}`).toBeUndefined();
        names.set(name, `${app} + ${room}`);
      }
    }
    expect(names.size).toBe(apps.length * rooms.length);
    expect(roomObjectName("ab", "c")).not.toBe(roomObjectName("a", "bc"));
    expect(roomObjectName("a", "lobby")).not.toBe(roomObjectName("b", "lobby"));
  });

  it("relies on app names without '/': app `a/b` + room `c` would be app `a` + room `b/c`, and is refused first", () => {
    expect(roomObjectName("a/b", "c")).toBe(roomObjectName("a", "b/c"));
    expect(isValidAppName("a/b")).toBe(false);
    expect(placementFromQuery(url("app=a%2Fb&room=c"))).toMatchObject({ ok: false, error: { code: 3 } });
  });
});
