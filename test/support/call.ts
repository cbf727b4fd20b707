import { expect } from "vitest";
import type { TestPeer } from "./peer";

/** `owner` creates `room` and admits `others`, each seeing the room-join-accept. */
export async function setUpRoom(room: string, owner: TestPeer, ...others: TestPeer[]): Promise<void> {
  expect(await owner.socket.emitWithAck("room-create-request", { auth: owner.session, room })).toMatchObject({
    ok: true,
  });
  for (const peer of others) {
    peer.socket.emit("room-join-request", { auth: peer.session, room });
    await owner.next("room-join-request", (d) => d.peer_id === peer.id);
    const accepted = await owner.socket.emitWithAck("room-join-accept", {
      auth: owner.session,
      room,
      peer_id: peer.id,
    });
    expect(accepted).toMatchObject({ ok: true });
    await peer.next("room-join-accept");
  }
}

/** `from` relays an ICE candidate to `to`, which must receive it with `from`'s id. */
export async function expectRelay(room: string, from: TestPeer, to: TestPeer, n = 1): Promise<void> {
  const ice_candidate = { candidate: `candidate:${n} 1 udp 1 127.0.0.1 9 typ host`, sdpMLineIndex: 0 };
  const ack = await from.socket.emitWithAck("relay-ice-candidate", {
    auth: from.session,
    room,
    to: to.id,
    ice_candidate,
  });
  expect(ack).toEqual({ ok: true, data: { room, to: to.id } });
  expect(
    await to.next(
      "ice-candidate",
      (d) => (d.ice_candidate as { candidate: string }).candidate === ice_candidate.candidate,
    ),
  ).toMatchObject({
    peer_id: from.id,
    ice_candidate,
  });
}
