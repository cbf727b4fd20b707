// Media links of the demo page: one RTCPeerConnection per remote peer, with
// its video tile and a data channel "state" for notes between the two pages
// (the convention is in README.md, "The demo page").
//
// Media flows between the browsers and does not need the server, so a link
// outlives the signaling that set it up. After a drop (ours or the peer's)
// the link is kept for its media; when a new link to the same person (the
// same `client` in peerinfo) is up, the old one is closed. Until then the
// old tile stays on screen and the new one waits, hidden.

/** Both pages open the channel with the same id, before any offer: no in-band handshake to wait for. */
const STATE_CHANNEL = { negotiated: true, id: 0 };
/** A peer who leaves says "bye" first; wait this long before saying it merely lost the server. */
const LOST_NOTICE_DELAY_MS = 1_500;
/** How long a replacement that is connected may take to show its first frame before it takes over. */
const TAKE_OVER_WAIT_MS = 1_500;
/** Notes are tiny; anything longer is not one of ours. */
const MAX_NOTE_CHARS = 1_024;

/**
 * @example
 * const links = createLinks({ videos, say, iceServers: () => [], localStream: () => stream, relay, onBack });
 * links.call(peerId, peerinfo); // the newcomer offers; the other side answers in links.description()
 */
export function createLinks({ videos, say, iceServers, localStream, relay, onBack }) {
  /** Peer id -> link, for peers that the server says are in the room with us. */
  const current = new Map();
  /** Links the server no longer vouches for, kept for their media until replaced or ended. */
  const kept = new Set();
  /** Ids whose link a newer one replaced: the server's later word that they left is no news. */
  const replaced = new Set();

  const all = () => [...kept, ...current.values()];
  const isLive = (link) =>
    !link.closed && (link.channel.readyState === "open" || link.pc.connectionState === "connected");
  const isDead = (link) => link.closed || ["failed", "closed"].includes(link.pc.connectionState);

  function newLink(id, peerinfo) {
    const pc = new RTCPeerConnection({ iceServers: iceServers() });
    const channel = pc.createDataChannel("state", STATE_CHANNEL);
    const tile = element("figure", "tile");
    tile.dataset.peer = id;
    const video = element("video");
    video.autoplay = true;
    video.playsInline = true;
    const caption = element("figcaption");
    const badges = element("span", "badges");
    const play = element("button", "play");
    play.type = "button";
    play.hidden = true;
    tile.append(video, caption, badges, play);

    const link = {
      id,
      client: clientOf(peerinfo),
      name: nameOf(peerinfo),
      pc,
      channel,
      tile,
      video,
      badges,
      play,
      stream: null,
      queued: [],
      /** What the peer says it sends; assumed until it says otherwise (other clients may not say). */
      remote: { audio: true, video: true },
      away: false,
      ready: false,
      closed: false,
      reported: new Set(),
    };
    caption.textContent = link.name;
    play.textContent = `Play ${link.name}`;
    play.onclick = () => playVideo(link);

    const stream = localStream();
    const sending = new Set();
    for (const track of stream ? stream.getTracks() : []) {
      pc.addTrack(track, stream);
      sending.add(track.kind);
    }
    for (const kind of ["audio", "video"]) if (!sending.has(kind)) pc.addTransceiver(kind, { direction: "recvonly" });

    pc.onicecandidate = ({ candidate }) => {
      if (candidate) signal(link, "relay-ice-candidate", { ice_candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ streams, track }) => {
      link.stream ??= streams[0] ?? new MediaStream();
      if (!link.stream.getTracks().includes(track)) link.stream.addTrack(track);
      if (video.srcObject !== link.stream) video.srcObject = link.stream;
      playVideo(link);
    };
    pc.onconnectionstatechange = () => {
      tile.dataset.state = pc.connectionState;
      if (pc.connectionState === "connected") void takeOver(link);
      if (pc.connectionState === "failed") {
        if (kept.has(link)) close(link, gone(link));
        else report(link, "failed", `Media connection with ${link.name} failed`);
      }
      refresh();
    };
    channel.onopen = () => {
      send(link, stateNote());
      refresh();
    };
    channel.onmessage = ({ data }) => receive(link, data);
    // The other page closed the link (it left, reloaded, or replaced it with a newer one).
    channel.onclose = () => close(link, gone(link));

    videos.append(tile);
    current.set(id, link);
    refresh();
    return link;
  }

  /** The link to a peer of the room, made if there is none (or only a dead one). */
  function open(id, peerinfo) {
    const existing = current.get(id);
    if (existing && !isDead(existing)) return existing;
    if (existing) close(existing, false);
    return newLink(id, peerinfo);
  }

  /**
   * Only a link to a peer of the room signals, and only through the server's word for it. While
   * our socket is down `relay` holds the message, and sends it only if the link still wants it then.
   */
  function signal(link, event, fields) {
    if (current.get(link.id) !== link) return;
    const wanted = () => current.get(link.id) === link && !link.closed;
    relay(event, { to: link.id, peer_id: link.id, ...fields }, wanted).then((outcome) => {
      // The peer may have just left; the server's room-user-leave says so.
      if (!outcome.ok && !["ERR_PEER_NOT_IN_ROOM", "ERR_DISCONNECTED"].includes(outcome.error.code)) {
        report(link, outcome.error.code, `Could not reach ${link.name}: ${outcome.error.message}`);
      }
    });
  }

  /** Says a link's trouble once, not once per ICE candidate. */
  function report(link, key, text) {
    if (link.reported.has(key)) return;
    link.reported.add(key);
    say(text, "error");
  }

  async function call(id, peerinfo) {
    const link = open(id, peerinfo);
    try {
      await link.pc.setLocalDescription(await link.pc.createOffer());
      signal(link, "relay-session-description", { session_description: link.pc.localDescription.toJSON() });
    } catch (error) {
      report(link, "offer", `Could not call ${link.name}: ${error.message}`);
    }
  }

  async function description({ peer_id, peerinfo, session_description }) {
    const link = open(peer_id, peerinfo);
    try {
      await link.pc.setRemoteDescription(session_description);
      for (const candidate of link.queued.splice(0)) await link.pc.addIceCandidate(candidate);
      if (session_description.type === "offer") {
        await link.pc.setLocalDescription(await link.pc.createAnswer());
        signal(link, "relay-session-description", { session_description: link.pc.localDescription.toJSON() });
      }
    } catch (error) {
      report(link, "description", `Could not use ${link.name}'s session description: ${error.message}`);
    }
  }

  async function candidate({ peer_id, peerinfo, ice_candidate }) {
    const link = open(peer_id, peerinfo);
    // Candidates can overtake the description they belong to.
    if (!link.pc.remoteDescription) return link.queued.push(ice_candidate);
    await link.pc.addIceCandidate(ice_candidate).catch((error) => report(link, "candidate", error.message));
  }

  /**
   * The server says a peer left. If media still flows, the peer only lost the server: keep the
   * link, marked "reconnecting…", until the peer is back under a new id or its media ends.
   * @returns {"kept" | "gone" | "replaced"}
   */
  function left(id) {
    const link = current.get(id);
    if (!link) return replaced.delete(id) ? "replaced" : "gone";
    current.delete(id);
    if (!isLive(link)) {
      close(link, false);
      return "gone";
    }
    link.away = true;
    kept.add(link);
    showBadges(link.badges, badgesOf(link));
    link.lostNotice = setTimeout(() => {
      if (!link.closed) say(`${link.name} lost the server connection; your call with them goes on`);
    }, LOST_NOTICE_DELAY_MS);
    return "kept";
  }

  /** Our own connection to the server was replaced: every link loses its signaling, not its media. */
  function detachAll() {
    for (const link of current.values()) {
      if (isLive(link)) kept.add(link);
      else close(link, false);
    }
    current.clear();
    replaced.clear();
  }

  /** A link is connected: show it once it has a frame, and close the older links to the same person. */
  async function takeOver(link) {
    if (link.ready) return;
    if (link.video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) {
      await Promise.race([once(link.video, "loadeddata"), sleep(TAKE_OVER_WAIT_MS)]);
    }
    if (link.closed) return;
    link.ready = true;
    for (const other of all()) {
      if (other === link || !link.client || other.client !== link.client) continue;
      if (current.get(other.id) === other) replaced.add(other.id);
      close(other, false);
    }
    refresh();
  }

  /** A new link waits, hidden, while an older link to the same person still shows them. */
  function refresh() {
    for (const link of all()) {
      link.tile.hidden =
        !link.ready &&
        all().some(
          (other) => other !== link && link.client && other.client === link.client && other.ready && isLive(other),
        );
    }
  }

  /**
   * Whether a link's end means its person left: only for a link the server already said was away
   * (else the server's room-user-leave says it), and not when a newer link to them replaces it.
   */
  function gone(link) {
    return link.away && !all().some((other) => other !== link && link.client && other.client === link.client);
  }

  function close(link, sayLeft) {
    if (link.closed) return;
    link.closed = true;
    clearTimeout(link.lostNotice);
    if (current.get(link.id) === link) current.delete(link.id);
    kept.delete(link);
    link.channel.close();
    link.pc.close();
    link.tile.remove();
    if (sayLeft) say(`${link.name} left`);
    refresh();
  }

  function closeAll() {
    for (const link of all()) close(link, false);
    replaced.clear();
  }

  /** The peer's note, from a channel only that peer's page can write to; anything unexpected is ignored. */
  function receive(link, data) {
    if (typeof data !== "string" || data.length > MAX_NOTE_CHARS) return;
    let note;
    try {
      note = JSON.parse(data);
    } catch {
      return;
    }
    if (!note || typeof note !== "object") return;
    if (note.type === "state") {
      if (typeof note.audio === "boolean") link.remote.audio = note.audio;
      if (typeof note.video === "boolean") link.remote.video = note.video;
      showBadges(link.badges, badgesOf(link));
    } else if (note.type === "back" && typeof note.peer_id === "string" && note.peer_id.length <= 128) {
      onBack(link, note.peer_id);
    } else if (note.type === "bye") {
      close(link, gone(link));
    }
  }

  function send(link, note) {
    if (link.channel.readyState === "open") link.channel.send(JSON.stringify(note));
  }

  function broadcast(note) {
    for (const link of all()) send(link, note);
  }

  function stateNote() {
    const tracks = localStream()?.getTracks() ?? [];
    const sends = (kind) => tracks.some((track) => track.kind === kind && track.enabled && track.readyState === "live");
    return { type: "state", audio: sends("audio"), video: sends("video") };
  }

  function playVideo(link) {
    link.video.play().then(
      () => (link.play.hidden = true),
      (error) => {
        // Autoplay with sound needs a gesture in some browsers (after a reload, say): offer a button.
        if (error.name === "NotAllowedError") link.play.hidden = false;
      },
    );
  }

  return {
    open,
    call,
    description,
    candidate,
    left,
    detachAll,
    closeAll,
    broadcast,
    /** Tells every peer what we send, after Mute or Camera off. */
    sendState: () => broadcast(stateNote()),
    /** Whether we still have media with this person (say, from before they lost the server). */
    knows: (peerinfo) => Boolean(clientOf(peerinfo)) && all().some((link) => link.client === clientOf(peerinfo)),
    all,
    isCurrent: (link) => current.get(link.id) === link,
  };
}

/** The badges of a tile: `[key, text]` pairs, shown as small labels on the video. */
export function showBadges(container, badges) {
  container.replaceChildren(
    ...badges.map(([key, text]) => {
      const badge = element("span", "badge");
      badge.dataset.badge = key;
      badge.textContent = text;
      return badge;
    }),
  );
}

function badgesOf(link) {
  const badges = [];
  if (link.away) badges.push(["away", "reconnecting…"]);
  if (!link.remote.audio) badges.push(["muted", "muted"]);
  if (!link.remote.video) badges.push(["camera-off", "camera off"]);
  return badges;
}

export function nameOf(peerinfo) {
  return (peerinfo && typeof peerinfo.name === "string" && peerinfo.name) || "Someone";
}

function clientOf(peerinfo) {
  return (peerinfo && typeof peerinfo.client === "string" && peerinfo.client) || null;
}

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

const once = (target, event) => new Promise((resolve) => target.addEventListener(event, resolve, { once: true }));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
