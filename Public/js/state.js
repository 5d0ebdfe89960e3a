// A device's desired and reported state (contract v1.2) as the device page
// shows it: the rules for the delta's rows, the JSON text of values, reading
// the editor's text and telling whether an `event: state` is news. Plain
// data, no DOM.

/**
 * @typedef {{version: number, state: object, updatedAt: number|null}} DesiredState
 * @typedef {{version: number, state: object, updatedAt: number|null, applied: number|null}} ReportedState
 * @typedef {{desired: DesiredState, reported: ReportedState, delta: object}} DeviceState
 *          `GET /v1/devices/{name}/state`
 * @typedef {{path: string, desired: string, reported: string|null}} DeltaRow
 *          one value the device has not reported yet: where, what is wanted (JSON),
 *          what it reports there (JSON), or null when it reports nothing there
 */

/**
 * The delta as one row per differing value, in key order. The hub's delta
 * holds each desired key, recursively, whose value differs from the
 * reported one, so a nested object is walked down to its leaves ("mode.fan");
 * arrays, empty objects and scalars are leaves.
 * @param {object} delta
 * @param {object} reported  the reported state, to show what the device has instead
 * @returns {DeltaRow[]}
 */
export function deltaRows(delta, reported) {
  /** @type {DeltaRow[]} */
  const rows = [];
  if (!isObject(delta)) return rows;
  walk(delta, [], (keys, value) => {
    const [found, current] = lookup(reported, keys);
    rows.push({ path: pathText(keys), desired: compactJSON(value), reported: found ? compactJSON(current) : null });
  });
  return rows;
}

/**
 * A key path as a person reads it: `mode.fan`, with keys that are not plain
 * names quoted (`sensors["north wall"].offset`), so no two paths read alike.
 * @param {string[]} keys
 */
export function pathText(keys) {
  let text = "";
  for (const key of keys) {
    if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)) text += text ? `.${key}` : key;
    else text += `[${JSON.stringify(key)}]`;
  }
  return text;
}

/** JSON on one line, for table cells: `{"seconds":5}`. */
export function compactJSON(value) {
  return JSON.stringify(value) ?? "null";
}

/** JSON indented by two spaces, for the state documents and the editor. */
export function prettyJSON(value) {
  return JSON.stringify(value, null, 2) ?? "null";
}

/**
 * Reads the desired-state editor: a JSON object, or what is wrong with the text.
 * @param {string} text
 * @returns {{state: object}|{error: string}}
 */
export function parseDesired(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `Not JSON: ${error.message}` };
  }
  if (!isObject(value)) return { error: "The desired state is a JSON object, such as {\"interval\": 5}." };
  return { state: value };
}

/**
 * Whether an `event: state` (versions only) tells more than the state shown:
 * either document has a newer version, or the device applied another one.
 * @param {{desired: {version: number}, reported: {version: number, applied?: number|null}}} event
 * @param {DeviceState|null} shown
 */
export function isNewerState(event, shown) {
  if (!shown) return true;
  return event.desired.version > shown.desired.version
    || event.reported.version > shown.reported.version
    || (event.reported.version === shown.reported.version && (event.reported.applied ?? null) !== shown.reported.applied);
}

function walk(value, keys, leaf) {
  if (isObject(value) && (keys.length === 0 || Object.keys(value).length > 0)) {
    for (const key of Object.keys(value).sort()) walk(value[key], [...keys, key], leaf);
  } else {
    leaf(keys, value);
  }
}

/** @returns {[boolean, any]} whether `object` has a value at `keys`, and that value */
function lookup(object, keys) {
  let current = object;
  for (const key of keys) {
    if (!isObject(current) || !Object.hasOwn(current, key)) return [false, undefined];
    current = current[key];
  }
  return [true, current];
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
