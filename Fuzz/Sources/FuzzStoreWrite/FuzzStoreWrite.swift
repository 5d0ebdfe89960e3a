import Dispatch
import Foundation
import FuzzInvariants
import TelehubCore
import TelehubSQLite
import TelehubStore

/// Bytes as an HTTP ingest message (seq optional): every accepted message is
/// committed into one `SQLiteStore` per process, then read back. What was
/// written must be found (the last of equal keys wins), the device's latest
/// values and `lastSeq` must follow a model kept here, and bucketed answers
/// from the rollup tiers must equal those computed from the raw rows.
///
/// The store lives in a fresh folder under `$TELEHUB_FUZZ_DIR` (default
/// /dev/shm, where fsync costs nothing) and grows with the run; its state
/// carries over between inputs, so a crash found late may need the inputs
/// before it to reproduce.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        guard case .ingest(let message)? = try FuzzInvariants.checkMessage(bytes) else { return 0 }
        try Harness.shared.write(message)
    } catch {
        fatalError("FuzzStoreWrite invariant violated: \(error)")
    }
    return 0
}

/// The store and what it must hold. libFuzzer calls the target from one
/// thread, one input at a time, so the model needs no lock.
final class Harness: @unchecked Sendable {
    static let shared = Harness()
    static let device = "fuzz-device"

    let store: SQLiteStore
    let deviceID: Int64
    /// The newest value of each metric, as the `latest` table must hold it.
    var latest: [String: LatestValue] = [:]
    var lastSeq: Int64 = 0

    private init() {
        let base = ProcessInfo.processInfo.environment["TELEHUB_FUZZ_DIR"] ?? "/dev/shm"
        var template = Array("\(base)/telehub-store-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("cannot make a folder under \(base)") }
        let directory = String(cString: made)
        do {
            store = try SQLiteStore(path: directory + "/fuzz.sqlite", writerCacheMiB: 16)
        } catch {
            fatalError("cannot open the store in \(directory): \(error)")
        }
        let store = store
        deviceID = blocking { try await store.ensureDevice(named: Self.device) }
    }

    func write(_ message: IngestMessage) throws(FuzzInvariants.Violation) {
        let now = FuzzInvariants.now
        var points: [SeriesPoint] = []
        for reading in message.readings {
            for metric in reading.metrics {
                points.append(SeriesPoint(deviceID: deviceID, metric: metric.name, ts: reading.ts, value: metric.value))
            }
        }
        let batch = CommitBatch(
            points: points, progress: [DeviceProgress(deviceID: deviceID, lastSeq: message.seq, lastSeen: now)])
        let store = store
        let result = blocking { try await store.commit(batch) }
        try check(result.missingDevices.isEmpty, "the device went missing: \(result)")

        // The model: the last point of equal keys wins; latest keeps the newest ts.
        struct Key: Hashable { var metric: String, ts: Int64 }
        var written: [Key: Double] = [:]
        var order: [Key] = []
        for point in points {
            let key = Key(metric: point.metric, ts: point.ts)
            if written.updateValue(point.value, forKey: key) == nil { order.append(key) }
            if let old = latest[point.metric], old.ts > point.ts { continue }
            latest[point.metric] = LatestValue(ts: point.ts, value: point.value)
        }
        lastSeq = max(lastSeq, message.seq ?? 0)

        let device = Self.device
        for key in order.prefix(64) {
            let history = blocking {
                try await store.history(device: device, metric: key.metric, from: key.ts, to: key.ts, points: 1)
            }
            let expected = MetricHistory.raw([(ts: key.ts, value: written[key]!)])
            try check(history == expected, "\(key) reads back as \(String(describing: history)), wrote \(written[key]!)")
        }

        let status = blocking { try await store.deviceStatus(named: device) }
        guard let status else { throw FuzzInvariants.Violation("the device has no status") }
        try check(status.lastSeq == lastSeq, "lastSeq \(status.lastSeq), expected \(lastSeq)")
        try check(status.lastSeen == now, "lastSeen \(String(describing: status.lastSeen)), expected \(now)")
        for metric in Set(points.map(\.metric)) {
            try check(
                status.metrics[metric] == latest[metric],
                "latest \(metric) is \(String(describing: status.metrics[metric])), expected \(String(describing: latest[metric]))")
        }

        // Rollups against raw rows, over the batch's span and around it.
        var spans: [String: (from: Int64, to: Int64)] = [:]
        for point in points {
            let span = spans[point.metric] ?? (point.ts, point.ts)
            spans[point.metric] = (min(span.from, point.ts), max(span.to, point.ts))
        }
        for (metric, span) in spans.sorted(by: { $0.key < $1.key }).prefix(8) {
            let ranges = [
                (span.from, span.to),
                (max(0, span.from - 7_200_000), min(IngestLimits.maxTime, span.to + 7_200_000)),
            ]
            for (from, to) in ranges {
                for points in [1, 7, 500] {
                    let rolled = blocking {
                        try await store.history(device: device, metric: metric, from: from, to: to, points: points)
                    }
                    let raw = blocking {
                        try await store.historyFromRawRows(
                            device: device, metric: metric, from: from, to: to, points: points)
                    }
                    try check(
                        Self.agree(rolled, raw),
                        "\(metric) [\(from), \(to)] in \(points) points: rollups \(String(describing: rolled)), raw \(String(describing: raw))")
                }
            }
        }
    }

    /// Equal, except that sums may differ by rounding (they are added in another order).
    static func agree(_ a: MetricHistory?, _ b: MetricHistory?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (.raw?, .raw?): return a == b
        case (.buckets(let s, let x)?, .buckets(let t, let y)?):
            guard s == t, x.count == y.count else { return false }
            return zip(x, y).allSatisfy { p, q in
                let (l, r) = (p.aggregate, q.aggregate)
                guard p.start == q.start, l.count == r.count, l.min == r.min, l.max == r.max else { return false }
                let n = Double(l.count)
                let tolerance = n * n * max(abs(l.min), abs(l.max)) * 4 * Double.ulpOfOne
                return abs(l.sum - r.sum) <= tolerance
            }
        default: return false
        }
    }

    func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzInvariants.Violation) {
        if !condition { throw FuzzInvariants.Violation(message()) }
    }
}

/// Runs async store calls from libFuzzer's synchronous callback: the task
/// runs on the concurrency pool while this thread, which is not one of the
/// pool's, waits on a semaphore. Any store error is a finding.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    switch box.result! {
    case .success(let value): return value
    case .failure(let error): fatalError("store call failed: \(error)")
    }
}

/// Written by the task before it signals, read by the waiting thread after.
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
