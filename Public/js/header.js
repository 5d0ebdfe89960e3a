// The header: connection indicator and device counts, visible on every page.

import { byId } from "./dom.js";
import { formatClock } from "./format.js";

const CONNECTION_TEXT = {
  connecting: () => "connecting…",
  live: () => "live",
  reconnecting: () => "reconnecting…",
  offline: (since) => `offline since ${formatClock(since)}`,
};

export class HeaderView {
  #connection = byId("connection-state");
  #online = byId("count-online");
  #offline = byId("count-offline");

  setConnection(state, since) {
    this.#connection.dataset.state = state;
    this.#connection.textContent = CONNECTION_TEXT[state](since);
    // The stylesheet dims values while they may be stale.
    document.body.dataset.connection = state;
  }

  setCounts({ online, offline }) {
    this.#online.textContent = String(online);
    this.#offline.textContent = String(offline);
  }
}
