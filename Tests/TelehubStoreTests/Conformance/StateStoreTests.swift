import Testing
import TelehubCore
import TelehubStore

/// Desired and reported state (contract v1.2), on every store.
@Suite struct StateStoreTests {
    private func json(_ text: String) -> JSONValue { (try? JSONValue.parse(text)) ?? .null }

    @Test(arguments: StoreKind.available) func desiredChangesCheckTheirVersionAndSurviveReopening(_ kind: StoreKind) async throws {
        let location = try StoreLocation(kind)
        var store: (any TelemetryStore)? = try await location.open()
        let id = try await store!.ensureDevice(named: "gh")
        #expect(try await store!.deviceState(device: "gh") == DeviceState())
        #expect(try await store!.deviceState(device: "nobody") == nil)
        let one = try await store!.changeDesired(device: "gh", .replace(json(#"{"a":1,"b":{"c":2}}"#)), ifVersion: 0, now: 10)
        #expect(one.desired == VersionedState(version: 1, state: json(#"{"a":1,"b":{"c":2}}"#), updatedAt: 10))
        let two = try await store!.changeDesired(device: "gh", .patch(json(#"{"b":{"c":null,"d":3}}"#)), ifVersion: nil, now: 20)
        #expect(two.desired.state == json(#"{"a":1,"b":{"d":3}}"#) && two.desired.version == 2)
        await #expect(throws: StateStoreError.versionMismatch(current: 2)) {
            try await store!.changeDesired(device: "gh", .replace(json("{}")), ifVersion: 1, now: 30)
        }
        await #expect(throws: StateStoreError.unknownDevice("nobody")) {
            try await store!.changeDesired(device: "nobody", .replace(json("{}")), ifVersion: nil, now: 30)
        }
        await #expect(throws: StateStoreError.self) {
            try await store!.changeDesired(device: "gh", .patch(json(#"{"x":"\#(String(repeating: "z", count: 17_000))"}"#)), ifVersion: nil, now: 30)
        }
        // A report goes in with a commit, merged over the reported state.
        let result = try await store!.commit(CommitBatch(
            progress: [DeviceProgress(deviceID: id, lastSeq: 4, lastSeen: 40)],
            reports: [PendingReport(deviceID: id, report: StateReport(patch: json(#"{"a":1,"fw":"1"}"#), applied: 2))]))
        #expect(result.states[id]?.reported == ReportedState(version: 1, state: json(#"{"a":1,"fw":"1"}"#), updatedAt: result.states[id]?.reported.updatedAt, applied: 2))
        #expect(try await store!.desiredVersions(devices: ["gh", "other"]) == ["gh": 2])
        // Only the devices asked about, though others have a desired object.
        #expect(try await store!.desiredVersions(devices: ["other"]) == [:])
        _ = try await store!.ensureDevice(named: "stateless")
        #expect(try await store!.stateVersions() == ["gh": StateVersions(desired: 2, reported: 1, applied: 2)])
        store = nil
        let reopened = try await location.open()
        let kept = try #require(try await reopened.deviceState(device: "gh"))
        #expect(kept.desired.version == 2 && kept.reported.version == 1 && kept.reported.applied == 2)
        #expect(kept.delta == json(#"{"b":{"d":3}}"#))
        #expect(try await reopened.lastSeq(deviceID: id) == 4)
        #expect(try await reopened.deleteDevice(named: "gh"))
        #expect(try await reopened.deviceState(device: "gh") == nil)
    }
}
