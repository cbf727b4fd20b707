// What the demo page tells its user: a few notices at a time, each with its
// time, fixed to the viewport; after some seconds (or a click) a notice moves
// to "Earlier messages" below the call, so the call view never fills up.

const SHOWN = 4;
const SHOWN_FOR_MS = { info: 6_000, error: 12_000 };
const KEPT = 100;

/**
 * @example
 * const say = createMessages({ list, history, log });
 * say("Bob joined");
 * say("Room not found", "error");
 */
export function createMessages({ list, history, log }) {
  function retire(item) {
    if (item.parentElement !== list) return;
    history.prepend(item);
    while (history.children.length > KEPT) history.lastElementChild.remove();
    log.hidden = false;
  }

  return function say(text, kind = "info") {
    const item = document.createElement("li");
    if (kind === "error") item.className = "error";
    const now = new Date();
    const time = document.createElement("time");
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    item.append(time, ` ${text}`);
    item.title = "Click to dismiss";
    item.onclick = () => retire(item);
    list.prepend(item);
    setTimeout(() => retire(item), SHOWN_FOR_MS[kind] ?? SHOWN_FOR_MS.info);
    while (list.children.length > SHOWN) retire(list.lastElementChild);
  };
}
