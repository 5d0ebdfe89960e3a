/// What the ingest actor needs: one durable commit per flush, and where each
/// device stands.
public protocol IngestStore: Sendable {
    /// Stores a whole flush in one transaction: the readings (last write wins
    /// per device, metric and `ts`), the latest values, and each device's
    /// `lastSeq` and `lastSeen`. Returns only once the data is durable.
    ///
    /// Throws `StoreUnavailable` when the store cannot write at all (locked,
    /// full, I/O error): nothing was stored and the same batch may succeed
    /// later. Any other error is about the batch's own data.
    @discardableResult
    func commit(_ batch: CommitBatch) async throws -> CommitResult

    /// The highest `seq` of the device that is durably stored, 0 if none.
    func lastSeq(deviceID: Int64) async throws -> Int64

    /// The names of the metrics the device has stored values of.
    func metricNames(deviceID: Int64) async throws -> [String]
}
