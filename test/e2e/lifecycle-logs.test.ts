import { describe, expect, it } from "vitest";
import { setUpRoom } from "../support/call";
import { type DevServerSuite, useDevServer } from "../support/dev-server-suite";

/** The JSON log lines (README, "Logs") the server printed so far, parsed. */
function logLines(suite: DevServerSuite): Array<Record<string, unknown>> {
  return suite.server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes('"log":'))
    .map((line) => JSON.parse(line));
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

/** README, "Logs": by default only the ends of sockets and rooms, each saying how long it lived. */
describe("LOG_LIFECYCLE unset", () => {
  const suite = useDevServer();

  it("logs nothing while a call is set up, then each socket's close and the room's deletion", async () => {
    const [alice, bob] = [await suite.peer("alice", { room: "ends" }), await suite.peer("bob")];
    await setUpRoom("ends", alice, bob);
    await settle();
    expect(logLines(suite).map((line) => line.log)).toEqual([]);

    alice.close();
    bob.close();
    await settle();
    const lines = logLines(suite);
    expect(lines.filter((line) => line.log === "socket-close")).toHaveLength(2);
    expect(lines.filter((line) => line.log === "room-deleted")).toHaveLength(1);
    expect(lines.find((line) => line.log === "room-deleted")).toMatchObject({
      object: "room:demo-chat-test/ends",
      app: "demo-chat-test",
      seconds: expect.any(Number),
    });
    for (const beginning of ["socket-open", "room-created"]) expect(lines.map((l) => l.log)).not.toContain(beginning);
  });
});

/** `LOG_LIFECYCLE=on` also logs the beginnings, as they happen. */
describe("LOG_LIFECYCLE=on", () => {
  const suite = useDevServer({ vars: { LOG_LIFECYCLE: "on" } });

  it("logs each socket's open and the room's creation while the call is set up", async () => {
    const [alice, bob] = [await suite.peer("alice", { room: "loud" }), await suite.peer("bob")];
    await setUpRoom("loud", alice, bob);
    await settle();
    const lines = logLines(suite);
    expect(lines.filter((line) => line.log === "socket-open")).toHaveLength(2);
    expect(lines.filter((line) => line.log === "room-created")).toEqual([
      expect.objectContaining({ object: "room:demo-chat-test/loud", app: "demo-chat-test" }),
    ]);
  });
});

/** `LOG_LIFECYCLE=off` leaves out the ordinary comings and goings, and nothing else. */
describe("LOG_LIFECYCLE=off", () => {
  const suite = useDevServer({ vars: { LOG_LIFECYCLE: "off" } });

  it("logs no opens, closes or rooms of a call, but still logs a refusal", async () => {
    const [alice, bob] = [await suite.peer("alice", { room: "quiet" }), await suite.peer("bob")];
    await setUpRoom("quiet", alice, bob);
    const refused = await bob.socket.emitWithAck("room-create-request", { auth: "not-a-token", room: "other" });
    expect(refused).toMatchObject({ ok: false });
    alice.close();
    bob.close();
    await settle();
    const lines = logLines(suite).map((line) => line.log);
    expect(lines).toContain("refusal");
    for (const quiet of ["socket-open", "socket-close", "room-created", "room-deleted"]) {
      expect(lines).not.toContain(quiet);
    }
  });
});
