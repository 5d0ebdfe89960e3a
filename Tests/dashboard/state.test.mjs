// Desired and reported state on the device page: the delta's rows, the editor, and which events are news.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compactJSON, deltaRows, isNewerState, parseDesired, pathText, prettyJSON } from "../../Public/js/state.js";

test("the delta becomes one row per differing leaf, with what the device reports there", () => {
  // The contract's example: desired interval 5, reported 10.
  assert.deepEqual(deltaRows({ interval: 5 }, { interval: 10 }), [{ path: "interval", desired: "5", reported: "10" }]);
  const rows = deltaRows(
    { mode: { fan: "low", eco: true }, schedule: [1, 2], limits: {}, name: null },
    { mode: { fan: "high" }, schedule: [1], limits: { max: 3 } },
  );
  assert.deepEqual(rows, [
    { path: "limits", desired: "{}", reported: "{\"max\":3}" },
    { path: "mode.eco", desired: "true", reported: null },
    { path: "mode.fan", desired: "\"low\"", reported: "\"high\"" },
    { path: "name", desired: "null", reported: null },
    { path: "schedule", desired: "[1,2]", reported: "[1]" },
  ]);
});

test("an empty delta has no rows; a reported value in place of an object reads as it is", () => {
  assert.deepEqual(deltaRows({}, { interval: 5 }), []);
  assert.deepEqual(deltaRows({ mode: { fan: "low" } }, { mode: "eco" }), [{ path: "mode.fan", desired: "\"low\"", reported: null }]);
  assert.deepEqual(deltaRows({ a: 1 }, { a: null }), [{ path: "a", desired: "1", reported: "null" }]);
});

test("paths quote keys that are not plain names, so no two read alike", () => {
  assert.equal(pathText(["mode", "fan"]), "mode.fan");
  assert.equal(pathText(["sensors", "north wall", "offset"]), "sensors[\"north wall\"].offset");
  assert.equal(pathText(["a.b"]), "[\"a.b\"]");
  assert.equal(pathText(["set-point", "0"]), "set-point[\"0\"]");
  // Text from the device is data: it is quoted, never interpreted.
  assert.equal(pathText(["<img src=x>"]), "[\"<img src=x>\"]");
});

test("JSON text: compact for cells, indented for documents", () => {
  assert.equal(compactJSON({ seconds: 5 }), "{\"seconds\":5}");
  assert.equal(prettyJSON({ interval: 5 }), "{\n  \"interval\": 5\n}");
  assert.equal(prettyJSON({}), "{}");
});

test("the editor takes a JSON object and names what is wrong otherwise", () => {
  assert.deepEqual(parseDesired(" {\"interval\": 5} "), { state: { interval: 5 } });
  assert.deepEqual(parseDesired("{}"), { state: {} });
  assert.match(/** @type {any} */ (parseDesired("{interval: 5}")).error, /^Not JSON/);
  for (const text of ["[1]", "5", "null", "\"x\""]) {
    assert.match(/** @type {any} */ (parseDesired(text)).error, /JSON object/, text);
  }
});

test("a state event is news when a version moved or the device applied another one", () => {
  const shown = {
    desired: { version: 8, state: {}, updatedAt: 1 },
    reported: { version: 3, state: {}, updatedAt: 1, applied: 7 },
    delta: {},
  };
  const event = (desired, reported, applied) => ({ device: "gh", desired: { version: desired }, reported: { version: reported, applied } });
  assert.equal(isNewerState(event(8, 3, 7), shown), false);
  assert.equal(isNewerState(event(7, 2, 6), shown), false);
  assert.equal(isNewerState(event(9, 3, 7), shown), true);
  assert.equal(isNewerState(event(8, 4, 7), shown), true);
  assert.equal(isNewerState(event(8, 3, 8), shown), true);
  assert.equal(isNewerState(event(1, 1, null), null), true);
});
