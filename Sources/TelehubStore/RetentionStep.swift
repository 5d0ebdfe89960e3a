/// What one retention step did.
public struct RetentionStep: Sendable, Equatable {
    public var rawRowsDeleted = 0
    public var rollupRowsDeleted = 0
    /// Series left with no data at all, forgotten (they no longer count
    /// against the device's `--max-series`).
    public var seriesRemoved = 0
    /// True when old rows remain: call again soon.
    public var more = false

    public init(rawRowsDeleted: Int = 0, rollupRowsDeleted: Int = 0, seriesRemoved: Int = 0, more: Bool = false) {
        self.rawRowsDeleted = rawRowsDeleted
        self.rollupRowsDeleted = rollupRowsDeleted
        self.seriesRemoved = seriesRemoved
        self.more = more
    }
}
