// The dashboard's hash routes, without a browser (node --test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { deviceHash, parseRoute } from "../../Public/js/router.js";

test("the overview is the default for every hash that names no page", () => {
  for (const hash of ["", "#", "#/", "#/nothing", "#/device/", "#/device/a/b"]) {
    assert.deepEqual(parseRoute(hash), { page: "overview" }, hash);
  }
});

test("alerts, with or without a trailing slash", () => {
  assert.deepEqual(parseRoute("#/alerts"), { page: "alerts" });
  assert.deepEqual(parseRoute("#/alerts/"), { page: "alerts" });
});

test("a device page keeps its name and its parameters", () => {
  const route = parseRoute("#/device/green%20house-1?range=24h");
  assert.equal(route.page, "device");
  assert.equal(route.name, "green house-1");
  assert.equal(route.params.get("range"), "24h");
});

test("a name that is not valid percent-encoding falls back to the overview", () => {
  assert.deepEqual(parseRoute("#/device/%E0%A4%A"), { page: "overview" });
});

test("deviceHash is read back by parseRoute, parameters included", () => {
  for (const name of ["gh-1", "a b", "ümlaut", "100%", "x?y#z"]) {
    const params = new URLSearchParams({ from: "1", to: "2000" });
    const route = parseRoute(deviceHash(name, params));
    assert.equal(route.name, name);
    assert.equal(route.params.get("to"), "2000");
  }
  assert.equal(deviceHash("gh-1"), "#/device/gh-1");
  assert.equal(deviceHash("gh-1", new URLSearchParams()), "#/device/gh-1");
});
