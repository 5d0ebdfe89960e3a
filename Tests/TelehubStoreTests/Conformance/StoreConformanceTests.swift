import Foundation
import Testing
import TelehubAuth
import TelehubCore
import TelehubStore

/// What every `TelemetryStore` must do, run against each store the machine
/// has (`StoreKind.available`): ingest, reads, rollups, tokens, sessions,
/// devices, export and retention. Alerts are in `AlertStoreConformanceTests`.
@Suite struct StoreConformanceTests {
    let hour: Int64 = 3_600_000
    let day: Int64 = 86_400_000
    let base: Int64 = 1_732_190_400_000  // a whole hour

    @Test(arguments: StoreKind.available) func commitStoresReadingsLatestAndProgress(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let id = try await store.ensureDevice(named: "gh-1")
        try await store.commit(CommitBatch(
            points: [
                SeriesPoint(deviceID: id, metric: "t", ts: base + 2000, value: 2),
                SeriesPoint(deviceID: id, metric: "t", ts: base + 1000, value: 1),
                SeriesPoint(deviceID: id, metric: "h", ts: base + 1500, value: 50),
            ],
            progress: [DeviceProgress(deviceID: id, lastSeq: 3, lastSeen: 2500)]))
        let status = try #require(try await store.deviceStatus(named: "gh-1"))
        #expect(status.lastSeq == 3)
        #expect(status.lastSeen == 2500)
        #expect(status.metrics == ["t": LatestValue(ts: base + 2000, value: 2), "h": LatestValue(ts: base + 1500, value: 50)])
        #expect(try await store.lastSeq(deviceID: id) == 3)
        #expect(try await store.metricNames(deviceID: id).sorted() == ["h", "t"])
        #expect(try await store.exportedValues().count == 3)
    }

    @Test(arguments: StoreKind.available) func lastWriteWinsAndOlderDataKeepsLatest(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let id = try await store.ensureDevice(named: "d")
        try await store.commit(CommitBatch(points: [
            SeriesPoint(deviceID: id, metric: "t", ts: base + 5000, value: 1),
            SeriesPoint(deviceID: id, metric: "t", ts: base + 5000, value: 2),
        ]))
        try await store.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: base + 5000, value: 3)]))
        // A late, older point is stored but does not replace the latest value.
        try await store.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: base + 4000, value: 9)]))
        #expect(try await store.exportedValues().map(\.value) == [9, 3])
        #expect(try await store.deviceStatus(named: "d")?.metrics["t"] == LatestValue(ts: base + 5000, value: 3))
    }

    @Test(arguments: StoreKind.available) func lastSeqAndLastSeenNeverGoBack(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let id = try await store.ensureDevice(named: "d")
        try await store.commit(CommitBatch(progress: [DeviceProgress(deviceID: id, lastSeq: 10, lastSeen: 5)]))
        try await store.commit(CommitBatch(progress: [DeviceProgress(deviceID: id, lastSeq: 4, lastSeen: 2)]))
        try await store.commit(CommitBatch(progress: [DeviceProgress(deviceID: id, lastSeq: nil, lastSeen: 3)]))
        #expect(try await store.lastSeq(deviceID: id) == 10)
        #expect(try await store.devices().first?.lastSeen == 5)
    }

    /// A commit for a device deleted while its messages were queued stores
    /// nothing of it and says so; the other devices' points go in.
    @Test(arguments: StoreKind.available) func aDeletedDevicesPointsAreNotStored(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let gone = try await store.ensureDevice(named: "gone")
        let stays = try await store.ensureDevice(named: "stays")
        #expect(try await store.deleteDevice(named: "gone"))
        let result = try await store.commit(CommitBatch(
            points: [
                SeriesPoint(deviceID: gone, metric: "t", ts: base, value: 1),
                SeriesPoint(deviceID: stays, metric: "t", ts: base, value: 2),
            ],
            progress: [DeviceProgress(deviceID: gone, lastSeq: 1, lastSeen: 1)]))
        #expect(result.missingDevices == [gone])
        #expect(try await store.exportedValues() == [ExportedValue(device: "stays", metric: "t", ts: base, value: 2)])
        // Ids are never reused: a new device of the same name is another device.
        #expect(try await store.ensureDevice(named: "gone") != gone)
    }

    @Test(arguments: StoreKind.available) func aRestartKeepsEverything(_ kind: StoreKind) async throws {
        let location = try StoreLocation(kind)
        let id: Int64
        do {
            let store = try await location.open()
            id = try await store.ensureDevice(named: "keep")
            _ = try await store.mintToken(kind: .device, device: "keep", label: "l", expiresAt: nil)
            try await store.commit(CommitBatch(
                points: [SeriesPoint(deviceID: id, metric: "t", ts: base, value: 21.5)],
                progress: [DeviceProgress(deviceID: id, lastSeq: 7, lastSeen: base)]))
        }
        let reopened = try await location.open()
        #expect(try await reopened.devices().map(\.name) == ["keep"])
        #expect(try await reopened.lastSeq(deviceID: id) == 7)
        #expect(try await reopened.tokens().map(\.label) == ["l"])
        #expect(try await reopened.exportedValues().map(\.value) == [21.5])
    }

    // MARK: Tokens and sessions

    @Test(arguments: StoreKind.available) func tokensAreFoundByHashAndRevocable(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let (secret, record) = try await store.mintToken(kind: .device, device: "pi", label: "lab", expiresAt: 99)
        let found = try #require(try await store.token(hash: secret.hash))
        #expect(found.record == record)
        #expect(found.hash == secret.hash)
        #expect(found.deviceID == (try await store.ensureDevice(named: "pi")))
        #expect(try await store.token(hash: [UInt8](repeating: 7, count: 32)) == nil)
        #expect(try await store.revokeToken(id: record.id))
        #expect(try await store.token(hash: secret.hash)?.record.revoked == true)
        #expect(try await store.revokeToken(id: 12345) == false)
        #expect(try await store.devices().first?.tokens == 0)
        #expect(try await store.endedTokens(among: [record.id], at: 0) == [record.id])
    }

    /// Control tokens (v1.2) are stored, found and listed like the others,
    /// have no device, and a dashboard session made from one knows its kind.
    @Test(arguments: StoreKind.available) func controlTokensAreStoredFoundAndCarriedBySessions(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let (secret, record) = try await store.mintToken(kind: .control, device: "ignored", label: "ops", expiresAt: nil)
        #expect(secret.value.hasPrefix("thc_"))
        #expect(record.kind == .control && record.device == nil)
        #expect(try await store.token(hash: secret.hash)?.record == record)
        #expect(try await store.tokens().map(\.kind) == [.control])
        let session: [UInt8] = Array(repeating: 9, count: 32)
        try await store.createWebSession(hash: session, tokenID: record.id, expiresAt: EpochClock.nowMs() + 60_000)
        #expect(try await store.webSessionToken(hash: session, at: EpochClock.nowMs())?.record.kind == .control)
        #expect(try await store.devices().isEmpty)
    }

    @Test(arguments: StoreKind.available) func endedTokensAreRevokedOrExpired(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let (_, live) = try await store.mintToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        let (_, expiring) = try await store.mintToken(kind: .read, device: nil, label: nil, expiresAt: 1000)
        let (_, revoked) = try await store.mintToken(kind: .device, device: "d", label: nil, expiresAt: nil)
        _ = try await store.revokeToken(id: revoked.id)
        #expect(try await store.endedTokens(among: [live.id, expiring.id, revoked.id], at: 999) == [revoked.id])
        #expect(try await store.endedTokens(among: [live.id, expiring.id, revoked.id, 424242], at: 1000) == [expiring.id, revoked.id, 424242])
        #expect(try await store.endedTokens(among: [], at: 0).isEmpty)
    }

    @Test(arguments: StoreKind.available) func readTokensHaveNoDeviceAndInvalidNamesAreRefused(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let (_, read) = try await store.mintToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        #expect(read.device == nil)
        await #expect(throws: StoreError.invalidDeviceName("bad name")) {
            try await store.mintToken(kind: .device, device: "bad name", label: nil, expiresAt: nil)
        }
        await #expect(throws: StoreError.deviceRequired) {
            try await store.mintToken(kind: .device, device: nil, label: nil, expiresAt: nil)
        }
        #expect(try await store.devices().isEmpty)
    }

    @Test(arguments: StoreKind.available) func tokenUsageOnlyMovesForward(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let (_, record) = try await store.mintToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        try await store.markTokensUsed([record.id: 1234])
        try await store.markTokensUsed([record.id: 1000])
        #expect(try await store.tokens().first?.lastUsedAt == 1234)
    }

    @Test(arguments: StoreKind.available) func webSessionsEndWithTimeLogoutAndTheirCap(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let (_, read) = try await store.mintToken(kind: .read, device: nil, label: nil, expiresAt: nil)
        let now = EpochClock.nowMs()
        let session: [UInt8] = Array(repeating: 1, count: 32)
        try await store.createWebSession(hash: session, tokenID: read.id, expiresAt: now + 60_000)
        #expect(try await store.webSessionToken(hash: session, at: now)?.record.id == read.id)
        #expect(try await store.webSessionToken(hash: session, at: now + 60_000) == nil)
        try await store.deleteWebSession(hash: session)
        #expect(try await store.webSessionToken(hash: session, at: now) == nil)
        // Logging in past the cap ends the oldest sessions of that token,
        // never the one just made, even when all were made in one millisecond.
        let cap = SessionBounds.maxSessionsPerToken
        let hashes = (0...cap + 1).map { Array(repeating: UInt8($0), count: 31) + [2] }
        for (index, hash) in hashes.enumerated() {
            try await store.createWebSession(hash: hash, tokenID: read.id, expiresAt: now + 60_000 + Int64(index))
            #expect(try await store.webSessionToken(hash: hash, at: now) != nil, "session \(index) ended as it was made")
        }
        var alive: [Int] = []
        for (index, hash) in hashes.enumerated() where try await store.webSessionToken(hash: hash, at: now) != nil {
            alive.append(index)
        }
        #expect(alive.count == cap)
        #expect(alive.contains(cap + 1))
    }

    // MARK: Devices and display

    @Test(arguments: StoreKind.available) func deletingADeviceRemovesItsDataAndTokens(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let (secret, _) = try await store.mintToken(kind: .device, device: "gone", label: nil, expiresAt: nil)
        let id = try await store.ensureDevice(named: "gone")
        let other = try await store.ensureDevice(named: "stays")
        try await store.commit(CommitBatch(points: [
            SeriesPoint(deviceID: id, metric: "t", ts: base + 1, value: 1),
            SeriesPoint(deviceID: other, metric: "t", ts: base + 1, value: 1),
            SeriesPoint(deviceID: id, metric: "t", ts: base + hour + 1, value: 1),
            SeriesPoint(deviceID: other, metric: "t", ts: base + hour + 1, value: 1),
        ]))
        #expect(try await store.deleteDevice(named: "gone"))
        #expect(try await store.deleteDevice(named: "gone") == false)
        #expect(try await store.token(hash: secret.hash) == nil)
        #expect(try await store.exportedValues().map(\.device) == ["stays", "stays"])
        #expect(try await store.deviceStatuses().map(\.name) == ["stays"])
        #expect(try await store.history(device: "gone", metric: "t", from: base, to: base + 2 * hour, points: 1) == nil)
    }

    @Test(arguments: StoreKind.available) func devicesAreListedByNameInByteOrder(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        for name in ["b", "B", "a-2", "a_1", "A"] { _ = try await store.ensureDevice(named: name) }
        #expect(try await store.devices().map(\.name) == ["A", "B", "a-2", "a_1", "b"])
        #expect(try await store.deviceStatuses().map(\.name) == ["A", "B", "a-2", "a_1", "b"])
        #expect(Set(try await store.deviceActivity().map(\.name)) == ["A", "B", "a-2", "a_1", "b"])
    }

    @Test(arguments: StoreKind.available) func metricDisplaysApplyPerDeviceOrToAll(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let id = try await store.ensureDevice(named: "d")
        try await store.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: base, value: 1)]))
        try await store.setMetricDisplay(MetricDisplay(device: nil, metric: "t", unit: "°C", label: "Air"))
        #expect(try await store.deviceStatus(named: "d")?.metrics["t"] == LatestValue(ts: base, value: 1, unit: "°C", label: "Air"))
        try await store.setMetricDisplay(MetricDisplay(device: "d", metric: "t", unit: "K", label: nil))
        #expect(try await store.metricDisplays().count == 2)
        try await store.setMetricDisplay(MetricDisplay(device: nil, metric: "t", unit: nil, label: nil))
        #expect(try await store.metricDisplays() == [MetricDisplay(device: "d", metric: "t", unit: "K", label: nil)])
    }

    // MARK: History and rollups

    @Test(arguments: StoreKind.available) func rawPointsWhenTheyFitAndBucketsWhenNot(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let id = try await store.ensureDevice(named: "gh")
        try await store.commit(CommitBatch(points: (0..<10).map {
            SeriesPoint(deviceID: id, metric: "v", ts: base + Int64($0) * 1000, value: Double($0))
        }))
        let raw = try #require(try await store.history(device: "gh", metric: "v", from: base, to: base + 9000, points: 10))
        #expect(raw == .raw((0..<10).map { (ts: base + Int64($0) * 1000, value: Double($0)) }))
        let bucketed = try #require(try await store.history(device: "gh", metric: "v", from: base, to: base + 9999, points: 2))
        #expect(bucketed == .buckets(step: 5000, [
            (start: base, aggregate: Aggregate(sum: 10, min: 0, max: 4, count: 5)),
            (start: base + 5000, aggregate: Aggregate(sum: 35, min: 5, max: 9, count: 5)),
        ]))
        #expect(try await store.history(device: "gh", metric: "v", from: base + 10_000, to: base + 20_000, points: 5) == .raw([]))
        #expect(try await store.history(device: "gh", metric: "v", from: base + 9000, to: base + 9000, points: 1) == .raw([(ts: base + 9000, value: 9)]))
        #expect(try await store.history(device: "gh", metric: "nope", from: base, to: base + 1, points: 1) == nil)
        #expect(try await store.history(device: "nope", metric: "v", from: base, to: base + 1, points: 1) == nil)
    }

    /// History from the rollups equals aggregating the stored values, whatever
    /// order values arrive in and however often they are overwritten.
    @Test(arguments: StoreKind.available) func bucketsEqualTheValuesAfterOverwritesAndLateData(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let id = try await store.ensureDevice(named: "gh")
        try await Fixtures.commitShuffledHoursWithOverwrites(store, id, base: base)
        for points in [5, 37, 500] {
            let (from, to) = (base - 12_345, base + 3 * hour + 999)
            let history = try await store.history(device: "gh", metric: "t", from: from, to: to, points: points)
            let expected = try await store.expectedBuckets(device: "gh", metric: "t", from: from, to: to, points: points)
            #expect(sameBuckets(history, expected), "\(points) points")
            #expect(expected.count <= points && expected.reduce(0) { $0 + $1.aggregate.count } == 1081)
            #expect(expected.map(\.aggregate.min).min() == -500)
        }
    }

    /// Whatever valid values arrive, in whatever order and with repeats, the
    /// store holds exactly the last one written per device, metric and time.
    @Test(arguments: StoreKind.available) func randomFlushesAreStoredExactly(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let names = ["a", "b"]
        let devices = [try await store.ensureDevice(named: "a"), try await store.ensureDevice(named: "b")]
        var random = SplitMix(seed: 3)
        var expected: [ExportedValue: Double] = [:]
        var keys: [String: ExportedValue] = [:]
        for _ in 0..<40 {
            var points: [SeriesPoint] = []
            for _ in 0..<Int.random(in: 1...300, using: &random) {
                let device = Int.random(in: 0...1, using: &random)
                let point = SeriesPoint(
                    deviceID: devices[device],
                    metric: ["t", "h", "v.1", "_x"].randomElement(using: &random) ?? "t",
                    ts: IngestLimits.earliestTimestamp + Int64.random(in: 0..<200_000, using: &random) * 997,
                    value: [1e100, -1e100, 0, 21.37, Double(Int.random(in: -50...50, using: &random))].randomElement(using: &random) ?? 0)
                points.append(point)
                let key = ExportedValue(device: names[device], metric: point.metric, ts: point.ts, value: 0)
                keys["\(key)"] = key
                expected[key] = point.value
            }
            try await store.commit(CommitBatch(points: points))
        }
        var actual: [ExportedValue: Double] = [:]
        for item in try await store.exportedValues() {
            actual[ExportedValue(device: item.device, metric: item.metric, ts: item.ts, value: 0)] = item.value
        }
        #expect(actual == expected)
        let (from, to) = (IngestLimits.earliestTimestamp, IngestLimits.earliestTimestamp + 200_000 * 997)
        for name in names {
            for metric in ["t", "h"] {
                let history = try await store.history(device: name, metric: metric, from: from, to: to, points: 50)
                let wanted = try await store.expectedBuckets(device: name, metric: metric, from: from, to: to, points: 50)
                #expect(sameBuckets(history, wanted, tolerance: 1e90), "\(name) \(metric)")
            }
        }
    }

    // MARK: Export

    @Test(arguments: StoreKind.available) func exportStreamsFilteredLinesInOrderPageByPage(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let b = try await store.ensureDevice(named: "b-dev")
        let a = try await store.ensureDevice(named: "a-dev")
        var points: [SeriesPoint] = []
        for i in 0..<25 {
            let ts: Int64 = 1_732_200_000_000 + Int64(i)
            points.append(SeriesPoint(deviceID: a, metric: "t", ts: ts, value: Double(i) / 2))
            points.append(SeriesPoint(deviceID: b, metric: "t", ts: ts, value: 1))
            points.append(SeriesPoint(deviceID: a, metric: "h", ts: ts, value: 2))
        }
        try await store.commit(CommitBatch(points: points))
        var chunks: [String] = []
        try await store.export(ExportFilter(devices: ["a-dev"], from: 1_732_200_000_005, to: 1_732_200_000_019), as: .csv, pageSize: 4) {
            chunks.append($0)
        }
        let lines = chunks.joined().split(separator: "\n").map(String.init)
        #expect(lines.first == "device,metric,ts,time,value")
        #expect(lines.count == 1 + 2 * 15)
        #expect(lines[1] == "a-dev,h,1732200000005,2024-11-21T14:40:00.005Z,2")
        #expect(lines[16] == "a-dev,t,1732200000005,2024-11-21T14:40:00.005Z,2.5")
        #expect(lines.last == "a-dev,t,1732200000019,2024-11-21T14:40:00.019Z,9.5")
        #expect(chunks.count > 4)  // paged, never one big string
        var ndjson = ""
        try await store.export(ExportFilter(metrics: ["t"], from: 1_732_200_000_000, to: 1_732_200_000_000), as: .ndjson) { ndjson += $0 }
        #expect(ndjson == """
            {"device":"a-dev","metric":"t","ts":1732200000000,"value":0}
            {"device":"b-dev","metric":"t","ts":1732200000000,"value":1}

            """)
    }

    // MARK: Retention

    @Test(arguments: StoreKind.available) func retentionDeletesOnlyWhatIsOld(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let id = try await store.ensureDevice(named: "d")
        let now: Int64 = 1_732_200_000_000
        let points = Fixtures.halfHourly(id, until: now)
        let first = now - 40 * day
        try await store.commit(CommitBatch(points: points))
        let cutoff = now - 30 * day
        let keptBefore = try await store.exportedValues().filter { $0.ts >= cutoff }
        var steps: [RetentionStep] = []
        repeat {
            steps.append(try await store.deleteExpired(rawBefore: cutoff, rollupsBefore: now - 35 * day, maxRows: 100))
        } while steps.last!.more && steps.count < 100
        #expect(steps.count > 1)
        #expect(steps.reduce(0) { $0 + $1.rawRowsDeleted } == 2 * 10 * 48)
        #expect(try await store.exportedValues() == keptBefore)
        // Rollups outlive raw values: the whole hours between the two cutoffs are still there.
        let (from, to) = ((now - 35 * day) / hour * hour + hour, cutoff / hour * hour - 1)
        let between = try await store.history(device: "d", metric: "a", from: from, to: to, points: 10)
        guard case .buckets(_, let buckets) = between else {
            Issue.record("expected buckets from the rollups, got \(String(describing: between))")
            return
        }
        let expected = points.filter { $0.metric == "a" && $0.ts >= from && $0.ts <= to }.count
        #expect(buckets.reduce(0) { $0 + $1.aggregate.count } == Int64(expected))
        let gone = try await store.history(device: "d", metric: "a", from: first, to: now - 35 * day - 1, points: 10)
        #expect(gone == .raw([]))
        #expect(try await store.deviceStatus(named: "d")?.metrics.count == 2)
    }

    /// A series whose data has all expired is forgotten, so it stops counting
    /// against its device's `--max-series`; a live series stays.
    @Test(arguments: StoreKind.available) func seriesWithNoDataLeftAreForgotten(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        let now: Int64 = 1_732_200_000_000
        let id = try await store.ensureDevice(named: "d")
        try await store.commit(CommitBatch(points: [
            SeriesPoint(deviceID: id, metric: "old", ts: now - 800 * day, value: 1),
            SeriesPoint(deviceID: id, metric: "live", ts: now - 800 * day, value: 1),
            SeriesPoint(deviceID: id, metric: "live", ts: now, value: 2),
        ]))
        var steps: [RetentionStep] = []
        repeat {
            steps.append(try await store.deleteExpired(rawBefore: now - 30 * day, rollupsBefore: now - 730 * day, maxRows: 100))
        } while steps.last!.more && steps.count < 100
        #expect(steps.reduce(0) { $0 + $1.seriesRemoved } == 1)
        #expect(try await store.metricNames(deviceID: id) == ["live"])
        #expect(try await store.deviceStatus(named: "d")?.metrics.keys.sorted() == ["live"])
    }

    @Test(arguments: StoreKind.available) func aWritableStoreReportsNoProblem(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        #expect(await store.writeProblem(probe: false) == nil)
        #expect(await store.writeProblem(probe: true) == nil)
        #expect(try await store.storageBytes() > 0)
        #expect(try await store.migrateStep(maxValues: 100) == false)
    }
}
