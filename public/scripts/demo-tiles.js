// Video tiles of the demo page: one per remote peer of the client library's room, with the
// peer's name and badges (what it sends, whether it is away). Pure presentation: the library
// (/client.js) owns the connections, their media and what the peer says it sends.

/** A peer whose server connection dropped is said to have lost it only after this, in case it is back at once. */
const LOST_NOTICE_DELAY_MS = 1_500;

/**
 * @example
 * const tiles = createTiles({ videos, say });
 * room.on("peer", (peer) => tiles.add(peer));
 */
export function createTiles({ videos, say }) {
  /** Peer (the library's object: its id may change when it comes back) -> its tile. */
  const tiles = new Map();

  function add(peer) {
    if (tiles.has(peer)) return;
    const tile = element("figure", "tile");
    const video = element("video");
    video.autoplay = true;
    video.playsInline = true;
    const caption = element("figcaption");
    const badges = element("span", "badges");
    const play = element("button", "play");
    play.type = "button";
    play.hidden = true;
    tile.append(video, caption, badges, play);
    const entry = { peer, tile, video, badges, play, lostNotice: null };
    tiles.set(peer, entry);
    play.onclick = () => playVideo(entry);
    label(entry);
    videos.append(tile);

    const show = (_track, stream) => {
      if (video.srcObject !== stream) video.srcObject = stream;
      playVideo(entry);
    };
    if (peer.stream) show(null, peer.stream);
    peer.on("track", show);
    peer.on("media", () => label(entry));
    peer.on("connection", (state) => {
      tile.dataset.state = state;
    });
    peer.on("away", () => {
      label(entry);
      entry.lostNotice = setTimeout(() => {
        if (peer.away && !peer.closed)
          say(`${nameOf(peer.info)} lost the server connection; your call with them goes on`);
      }, LOST_NOTICE_DELAY_MS);
    });
    peer.on("back", () => {
      clearTimeout(entry.lostNotice);
      label(entry);
      say(`${nameOf(peer.info)} is back`);
    });
    peer.on("closed", () => remove(peer));
  }

  function remove(peer) {
    const entry = tiles.get(peer);
    if (!entry) return;
    clearTimeout(entry.lostNotice);
    entry.tile.remove();
    tiles.delete(peer);
  }

  function label(entry) {
    const { peer, tile, badges } = entry;
    tile.dataset.peer = peer.id;
    tile.querySelector("figcaption").textContent = nameOf(peer.info);
    entry.play.textContent = `Play ${nameOf(peer.info)}`;
    const list = [];
    if (peer.away) list.push(["away", "reconnecting…"]);
    // "none" is a peer without that device; "muted" one who switched it off: they read differently.
    const media = peer.media;
    if (media?.audio === "none") list.push(["no-microphone", "no microphone"]);
    if (media?.audio === "muted") list.push(["muted", "muted"]);
    if (media?.video === "none") list.push(["no-camera", "no camera"]);
    if (media?.video === "muted") list.push(["camera-off", "camera off"]);
    showBadges(badges, list);
  }

  function playVideo(entry) {
    entry.video.play().then(
      () => {
        entry.play.hidden = true;
      },
      (error) => {
        // Autoplay with sound needs a gesture in some browsers (after a reload, say): offer a button.
        if (error.name === "NotAllowedError") entry.play.hidden = false;
      },
    );
  }

  function clear() {
    for (const peer of [...tiles.keys()]) remove(peer);
  }

  return { add, remove, clear };
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

export function nameOf(peerinfo) {
  return (peerinfo && typeof peerinfo.name === "string" && peerinfo.name) || "Someone";
}

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}
