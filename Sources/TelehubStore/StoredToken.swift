public import TelehubCore

/// A stored token as authentication needs it.
public struct StoredToken: Sendable, Equatable {
    public var record: TokenRecord
    public var deviceID: Int64?
    public var hash: [UInt8]

    public init(record: TokenRecord, deviceID: Int64?, hash: [UInt8]) {
        self.record = record
        self.deviceID = deviceID
        self.hash = hash
    }
}
