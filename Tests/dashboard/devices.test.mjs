// The dashboard's model of the fleet: which update wins.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DeviceStore, compareNames, pendingDesired } from "../../Public/js/devices.js";

const snapshot = (devices) => ({ devices });

test("online devices first, then by name with numbers in natural order", () => {
  const store = new DeviceStore();
  store.replace(snapshot([
    { name: "node-10", online: true }, { name: "node-2", online: true }, { name: "a", online: false },
    { name: "node-1", online: false },
  ]));
  assert.deepEqual(store.sorted().map((d) => d.name), ["node-2", "node-10", "a", "node-1"]);
  assert.deepEqual(store.counts(), { online: 2, offline: 2 });
  assert.ok(store.loaded);
});

test("an older reading never replaces the value on the card; units from the snapshot stay", () => {
  const store = new DeviceStore();
  store.replace(snapshot([{ name: "gh", online: true, metrics: { t: { ts: 100, value: 1, unit: "°C" } } }]));
  store.applyReading({ device: "gh", ts: 300, metrics: { t: 3 } });
  store.applyReading({ device: "gh", ts: 200, metrics: { t: 2, h: 40 } });
  assert.deepEqual(store.get("gh").metrics.get("t"), { ts: 300, value: 3, unit: "°C" });
  assert.deepEqual(store.get("gh").metrics.get("h"), { ts: 200, value: 40 });
});

test("a device clock ahead of ours does not make it seen in the future", () => {
  const store = new DeviceStore();
  const before = Date.now();
  store.applyReading({ device: "fast", ts: before + 3_600_000, metrics: { t: 1 } });
  assert.ok(store.get("fast").lastSeen <= Date.now());
  assert.ok(store.get("fast").lastSeen >= before);
});

test("a device first heard on the stream is offline until a presence event", () => {
  const store = new DeviceStore();
  store.applyReading({ device: "new", ts: 1, metrics: { t: 1 } });
  assert.equal(store.get("new").online, false);
  store.applyPresence({ device: "new", online: true });
  assert.equal(store.get("new").online, true);
});

test("a device list fetched before a presence event does not undo it", () => {
  const store = new DeviceStore();
  store.replace(snapshot([{ name: "a", online: false }, { name: "b", online: false }]));
  const mark = store.presenceMark();
  store.applyPresence({ device: "a", online: true });
  store.mergePresence(snapshot([{ name: "a", online: false }, { name: "b", online: true }]), mark);
  assert.equal(store.get("a").online, true);  // the event is newer than the list
  assert.equal(store.get("b").online, true);  // the list is the news here
});

test("clear forgets everything", () => {
  const store = new DeviceStore();
  store.replace(snapshot([{ name: "a", online: true }]));
  store.clear();
  assert.equal(store.get("a"), undefined);
  assert.equal(store.loaded, false);
});

test("names that collate equal still have one order", () => {
  assert.ok(compareNames("a", "b") < 0);
  assert.ok(compareNames("node-2", "node-10") < 0);
  assert.equal(Math.sign(compareNames("A", "a")), -Math.sign(compareNames("a", "A")));
});

test("state versions come from the snapshot's states and from state events; never backwards", () => {
  const store = new DeviceStore();
  store.replace({
    devices: [{ name: "stateless", online: true }, { name: "gh", online: true }],
    states: [{ device: "gh", desired: { version: 8 }, reported: { version: 3, applied: 7 } }],
  });
  // Not in `states`: versions 0, nothing pending.
  assert.deepEqual(store.get("stateless").state, { desired: { version: 0 }, reported: { version: 0, applied: null } });
  assert.equal(pendingDesired(store.get("stateless")), null);
  // A list without `states` (GET /v1/devices) says nothing about state.
  const listed = new DeviceStore();
  listed.replace(snapshot([{ name: "gh", online: true }]));
  assert.equal(listed.get("gh").state, null);
  assert.deepEqual(store.get("gh").state, { desired: { version: 8 }, reported: { version: 3, applied: 7 } });
  assert.equal(pendingDesired(store.get("gh")), 8);

  store.applyState({ device: "gh", desired: { version: 8 }, reported: { version: 4, applied: 8 }, ts: 2 });
  assert.equal(pendingDesired(store.get("gh")), null);
  // An event older than what is known changes nothing.
  store.applyState({ device: "gh", desired: { version: 7 }, reported: { version: 2, applied: 6 }, ts: 1 });
  assert.deepEqual(store.get("gh").state, { desired: { version: 8 }, reported: { version: 4, applied: 8 } });
  store.applyState({ device: "gh", desired: { version: 9 }, reported: { version: 4, applied: 8 }, ts: 3 });
  assert.equal(pendingDesired(store.get("gh")), 9);
  // A device that never had desired state has nothing pending; one that never applied any has.
  store.applyState({ device: "new", desired: { version: 0 }, reported: { version: 1, applied: null }, ts: 4 });
  assert.equal(pendingDesired(store.get("new")), null);
  store.applyState({ device: "new", desired: { version: 1 }, reported: { version: 1, applied: null }, ts: 5 });
  assert.equal(pendingDesired(store.get("new")), 1);
});

test("a snapshot's states name devices by `device`, and a device it does not list is left out", () => {
  const store = new DeviceStore();
  store.replace({ devices: [{ name: "gh", online: true }], states: [{ device: "deleted", desired: { version: 3 } }] });
  assert.equal(store.get("deleted"), undefined);
  assert.deepEqual(store.get("gh").state, { desired: { version: 0 }, reported: { version: 0, applied: null } });
});
