import { describe, expect, it } from "vitest";
import { setUpRoom } from "../support/call";
import { useDevServer } from "../support/dev-server-suite";

/** README, "Logs": `LOG_LIFECYCLE=off` leaves out the ordinary comings and goings, and nothing else. */
describe("LOG_LIFECYCLE=off", () => {
  const suite = useDevServer({ vars: { LOG_LIFECYCLE: "off" } });
  const logged = () =>
    suite.server
      .output()
      .split("\n")
      .flatMap((line) => /"log":"([a-z-]+)"/.exec(line)?.[1] ?? []);

  it("logs no opens, closes or rooms of a call, but still logs a refusal", async () => {
    const [alice, bob] = [await suite.peer("alice", { room: "quiet" }), await suite.peer("bob")];
    await setUpRoom("quiet", alice, bob);
    const refused = await bob.socket.emitWithAck("room-create-request", { auth: "not-a-token", room: "other" });
    expect(refused).toMatchObject({ ok: false });
    alice.close();
    bob.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const lines = logged();
    expect(lines).toContain("refusal");
    for (const quiet of ["socket-open", "socket-close", "room-created", "room-deleted"]) {
      expect(lines).not.toContain(quiet);
    }
  });
});
