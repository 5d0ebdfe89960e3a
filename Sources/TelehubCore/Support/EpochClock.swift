import Foundation

/// Wall-clock time in the contract's unit, milliseconds since the Unix epoch.
public enum EpochClock {
    public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
