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

    /// The largest `seq`: 2^53 − 1, the largest integer every JSON reader holds exactly.
    public static let maxSeq: Int64 = 9_007_199_254_740_991

    /// The largest magnitude of a stored value. Sums of up to 2^53 such values
    /// stay finite, so every rollup and average is a number (1e308 + 1e308 is not).
    public static let maxMagnitude: Double = 1e100

    /// The longest ping `id` echoed in a pong, in bytes.
    public static let maxPingIDBytes = 128

    /// The largest time accepted anywhere (history bounds): 2^53 − 1 ms.
    public static let maxTime: Int64 = maxSeq

    /// 2000-01-01T00:00:00Z: older timestamps are almost always an unset device clock.
    public static let earliestTimestamp: Int64 = 946_684_800_000
}
