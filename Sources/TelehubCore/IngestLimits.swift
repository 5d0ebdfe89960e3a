/// The bounds a message must respect. The hub announces them in `hello` so a
/// device can size its batches without guessing.
public struct IngestLimits: Sendable, Equatable {
    public var maxBatch: Int
    public var maxMetricsPerReading: Int
    public var maxMessageBytes: Int
    /// How far into the future a timestamp may lie, to absorb device clock drift.
    public var maxFutureSkewMs: Int64

    public init(
        maxBatch: Int = 1000,
        maxMetricsPerReading: Int = 256,
        maxMessageBytes: Int = 1 << 20,
        maxFutureSkewMs: Int64 = 10 * 60 * 1000
    ) {
        self.maxBatch = maxBatch
        self.maxMetricsPerReading = maxMetricsPerReading
        self.maxMessageBytes = maxMessageBytes
        self.maxFutureSkewMs = maxFutureSkewMs
    }

    /// 2000-01-01T00:00:00Z: older timestamps are almost always an unset device clock.
    public static let earliestTimestamp: Int64 = 946_684_800_000
}
