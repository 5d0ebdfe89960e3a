// A device's commands on its page: rows from the list, updated by stream events and the hub's answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CommandList, isOpen, outcomeText, parseDuration, readCommandForm } from "../../Public/js/commands.js";

const record = (id, createdAt, extra = {}) => ({
  id, device: "gh-1", name: "reboot", args: {}, status: "queued", priority: 5, createdAt, expiresAt: createdAt + 1000,
  attempts: 0, deliveredAt: null, completedAt: null, result: null, message: null, ...extra,
});
const event = (id, status, ts, name = "reboot") => ({ id, device: "gh-1", name, status, ts });

test("the list is newest first; same-millisecond commands keep the hub's order", () => {
  const list = new CommandList(10);
  list.replace([record("c", 300), record("b", 200), record("a2", 100), record("a1", 100)]);
  assert.deepEqual(list.rows().map((row) => row.id), ["c", "b", "a2", "a1"]);
  list.upsert(record("d", 400));
  assert.equal(list.rows()[0].id, "d");
});

test("events move a row forward through its statuses, never back", () => {
  const list = new CommandList(10);
  list.replace([record("x", 100)]);
  assert.equal(list.apply(event("x", "sent", 110)).status, "sent");
  assert.equal(list.apply(event("x", "delivered", 120)).status, "delivered");
  assert.equal(list.apply(event("x", "sent", 115)), null);  // late, out of order
  assert.equal(list.apply(event("x", "succeeded", 130)).status, "succeeded");
  assert.equal(list.apply(event("x", "expired", 140)), null);  // a final status stays
  assert.equal(list.get("x").status, "succeeded");
  assert.equal(list.get("x").updatedAt, 130);
  // A repeat of what is shown is no news; a resend (sent again, later) is.
  list.upsert(record("y", 200, { status: "sent" }));
  assert.equal(list.apply(event("y", "sent", 200)), null);
  assert.equal(list.apply(event("y", "sent", 250))?.status, "sent");
});

test("an event of a command not in the list inserts a partial row; the whole record fills it in", () => {
  const list = new CommandList(10);
  list.replace([record("old", 100)]);
  const row = list.apply(event("new", "queued", 500, "set-interval"));
  assert.deepEqual([row.id, row.name, row.status, row.partial, row.args], ["new", "set-interval", "queued", true, undefined]);
  assert.deepEqual(list.rows().map((r) => r.id), ["new", "old"]);
  const whole = list.upsert(record("new", 499, { name: "set-interval", args: { seconds: 5 } }));
  assert.equal(whole.partial, false);
  assert.deepEqual(whole.args, { seconds: 5 });
});

test("the hub's answer does not undo an event that overtook it", () => {
  const list = new CommandList(10);
  // The POST's 202 (queued) arrives after the stream said sent, then delivered.
  list.apply(event("z", "queued", 100));
  list.apply(event("z", "sent", 101));
  list.apply(event("z", "delivered", 102));
  const row = list.upsert(record("z", 100, { name: "reboot" }));
  assert.equal(row.status, "delivered");
  // A cancel's answer is final and wins over an open status.
  assert.equal(list.upsert(record("z", 100, { status: "canceled", completedAt: 103 })).status, "canceled");
});

test("only the newest rows are kept", () => {
  const list = new CommandList(3);
  list.replace([record("d", 400), record("c", 300), record("b", 200), record("a", 100)].slice(0, 3));
  list.upsert(record("e", 500));
  assert.deepEqual(list.rows().map((row) => row.id), ["e", "d", "c"]);
  // An event of a command older than every row kept is no row.
  assert.equal(list.apply(event("ancient", "expired", 50)), null);
  assert.equal(list.size, 3);
});

test("open statuses can be cancelled; outcomes read as a person would say them", () => {
  assert.deepEqual(["queued", "sent", "delivered"].map(isOpen), [true, true, true]);
  assert.deepEqual(["succeeded", "failed", "expired", "canceled"].map(isOpen), [false, false, false, false]);
  const row = (extra) => ({ ...record("r", 1), updatedAt: 1, partial: false, ...extra });
  assert.equal(outcomeText(row({ status: "succeeded", result: { applied: true } })), "{\"applied\":true}");
  assert.equal(outcomeText(row({ status: "succeeded", result: {} })), "");
  assert.equal(outcomeText(row({ status: "failed", message: "sensor busy" })), "sensor busy");
  assert.match(outcomeText(row({ status: "expired" })), /time to live/);
  assert.equal(outcomeText(row({ status: "sent", attempts: 2 })), "sent 2 times");
  assert.equal(outcomeText(row({ status: "queued" })), "");
});

test("the send form is read as the hub will judge it, naming the field at fault", () => {
  const form = (extra) => readCommandForm({ name: "set-interval", args: "{\"seconds\": 5}", ttl: "", priority: "", ...extra });
  assert.deepEqual(form({}), { command: { name: "set-interval", args: { seconds: 5 } } });
  assert.deepEqual(form({ args: " ", ttl: "1h", priority: "9" }), { command: { name: "set-interval", args: {}, ttl: 3_600_000, priority: 9 } });
  assert.deepEqual(form({ name: "  reboot " }).command?.name, "reboot");
  for (const [extra, field] of [
    [{ name: "9bad" }, "name"], [{ name: "" }, "name"], [{ name: "x".repeat(65) }, "name"],
    [{ args: "{seconds: 5}" }, "args"], [{ args: "[1]" }, "args"], [{ args: "null" }, "args"],
    [{ ttl: "0.5s" }, "ttl"], [{ ttl: "31d" }, "ttl"], [{ ttl: "soon" }, "ttl"],
    [{ priority: "10" }, "priority"], [{ priority: "2.5" }, "priority"], [{ priority: "-1" }, "priority"],
  ]) {
    assert.equal(/** @type {any} */ (form(extra)).field, field, JSON.stringify(extra));
  }
});

test("durations: a number with a unit, or seconds alone", () => {
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("15m"), 900_000);
  assert.equal(parseDuration("15 min"), 900_000);
  assert.equal(parseDuration("2h"), 7_200_000);
  assert.equal(parseDuration("7D"), 604_800_000);
  assert.equal(parseDuration("1500ms"), 1500);
  assert.equal(parseDuration("30"), 30_000);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.ok(Number.isNaN(parseDuration("an hour")));
  assert.ok(Number.isNaN(parseDuration("-5s")));
});
