// The dashboard's model of the fleet, fed by the live stream. Plain data and
// no DOM, so every rule about which update wins lives in one place.

/**
 * @typedef {{ts: number, value: number, unit?: string, label?: string}} MetricValue
 * @typedef {{desired: {version: number}, reported: {version: number, applied: number|null}}} StateVersions
 *          the versions of a device's desired and reported state (contract v1.2)
 * @typedef {{name: string, online: boolean, lastSeen: number|null, lastSeq: number,
 *            metrics: Map<string, MetricValue>, state: StateVersions|null}} Device
 *          `state` is null until the device list or a `state` event told it
 */

export class DeviceStore {
  /** @type {Map<string, Device>} */
  #devices = new Map();
  /** False until the first device list arrived: before that, "no such device" can't be told. */
  loaded = false;
  /** Counts presence events, so a slower HTTP answer can't undo a newer one. */
  #presenceClock = 0;
  /** @type {Map<string, number>} device name → #presenceClock at its last presence event */
  #presenceAt = new Map();

  /**
   * Online devices first (those are the ones being watched), each group by
   * name, with numbers in names ordered naturally (node-2 before node-10).
   */
  sorted() {
    return [...this.#devices.values()].sort((a, b) => Number(b.online) - Number(a.online) || compareNames(a.name, b.name));
  }

  get(name) {
    return this.#devices.get(name);
  }

  counts() {
    let online = 0;
    for (const device of this.#devices.values()) if (device.online) online += 1;
    return { online, offline: this.#devices.size - online };
  }

  /**
   * A `state` event: the versions of the device's desired and reported
   * state. Versions only grow, so an older event (or one older than the
   * device list) changes nothing.
   */
  applyState({ device: name, desired, reported }) {
    const device = this.#ensure(name);
    device.state = newerState(device.state, versionsFromWire({ desired, reported }));
    return device;
  }

  /**
   * A snapshot (same shape as `GET /v1/devices`, with `alerts` and `states`)
   * replaces everything: it is the truth as of its stream id. Its `states`
   * lists the devices that ever had desired or reported state; every other
   * device's versions are 0.
   */
  replace(list) {
    this.#devices = new Map(list.devices.map((entry) => [entry.name, fromWire(entry)]));
    if (list.states) {
      for (const device of this.#devices.values()) device.state = versionsFromWire({ desired: null, reported: null });
      for (const entry of list.states) {
        const device = this.#devices.get(entry.device);
        if (device) device.state = versionsFromWire(entry);
      }
    }
    this.loaded = true;
  }

  /** Forgets everything (logged out). */
  clear() {
    this.#devices = new Map();
    this.#presenceAt.clear();
    this.loaded = false;
  }

  /** A `reading` event. Returns the device, created when the hub reports a name we have not seen. */
  applyReading({ device: name, ts, metrics }) {
    const device = this.#ensure(name);
    for (const [metric, value] of Object.entries(metrics)) {
      const current = device.metrics.get(metric);
      // Batches may deliver older readings after newer ones; the card shows the newest.
      // Events carry no unit or label: those stay as the snapshot gave them.
      if (!current || ts >= current.ts) device.metrics.set(metric, { ...current, ts, value });
    }
    // The hub's lastSeen is its receive time, which events don't carry; a
    // reading's own time is the closest we have. Clamp it so a device clock
    // running ahead can't make it look seen in the future.
    device.lastSeen = Math.max(device.lastSeen ?? 0, Math.min(ts, Date.now()));
    return device;
  }

  /** A `presence` event flips the device's online state. */
  applyPresence({ device: name, online }) {
    const device = this.#ensure(name);
    device.online = online;
    this.#presenceClock += 1;
    this.#presenceAt.set(name, this.#presenceClock);
    return device;
  }

  /** A mark to pass to mergePresence, taken before requesting the device list. */
  presenceMark() {
    return this.#presenceClock;
  }

  /**
   * Takes online states from a device list fetched after a stream resume
   * (presence events are not replayed), except for devices whose presence
   * changed on the stream since `mark`: those events are newer than the list.
   */
  mergePresence(list, mark) {
    for (const entry of list.devices) {
      const device = this.#devices.get(entry.name);
      if (!device || (this.#presenceAt.get(entry.name) ?? 0) > mark) continue;
      device.online = entry.online;
    }
  }

  #ensure(name) {
    let device = this.#devices.get(name);
    if (!device) {
      // A device we learn about from the stream: offline until a presence event says otherwise.
      device = { name, online: false, lastSeen: null, lastSeq: 0, metrics: new Map(), state: null };
      this.#devices.set(name, device);
    }
    return device;
  }
}

const collator = new Intl.Collator(undefined, { numeric: true });

export function compareNames(a, b) {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

function fromWire(entry) {
  return {
    name: entry.name,
    online: Boolean(entry.online),
    lastSeen: entry.lastSeen ?? null,
    lastSeq: entry.lastSeq ?? 0,
    metrics: new Map(Object.entries(entry.metrics ?? {})),
    state: null,
  };
}

/**
 * The desired version the device has not applied yet, or null when it is
 * in step (or nothing is known: hubs before the device list carried state).
 * @param {Device} device
 */
export function pendingDesired(device) {
  const state = device.state;
  if (!state || state.desired.version === 0) return null;
  return (state.reported.applied ?? 0) < state.desired.version ? state.desired.version : null;
}

/** @returns {StateVersions} */
function versionsFromWire({ desired, reported }) {
  return {
    desired: { version: desired?.version ?? 0 },
    reported: { version: reported?.version ?? 0, applied: reported?.applied ?? null },
  };
}

/** @param {StateVersions|null} current  @param {StateVersions} next */
function newerState(current, next) {
  if (!current) return next;
  return {
    desired: current.desired.version > next.desired.version ? current.desired : next.desired,
    reported: current.reported.version > next.reported.version ? current.reported : next.reported,
  };
}
