#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// How many connections the hub may hold: every connection is a file
/// descriptor, and the process may open `RLIMIT_NOFILE` of them. A few are
/// kept for the store, the listening socket, webhooks and logs; past the
/// rest, a new device is answered 503 before its upgrade, where a process
/// out of descriptors would fail its accepts in a loop and its own files.
final class DescriptorBudget: Sendable {
    let capacity: Int
    private let open = Atomic<Int>(0)

    init(capacity: Int = OpenFileLimit.current().connectionCapacity) {
        self.capacity = capacity
    }

    var hasRoom: Bool { open.load(ordering: .relaxed) <= capacity }

    func opened() { open.add(1, ordering: .relaxed) }
    func closed() { open.subtract(1, ordering: .relaxed) }
}

/// The process's open-file limit (`RLIMIT_NOFILE`).
public enum OpenFileLimit {
    /// Descriptors kept for everything but connections: the store's files,
    /// the listening socket, event loops, webhooks, PostgreSQL, logs.
    public static let reserved = 100

    public struct Limits: Sendable, Equatable {
        public var soft: Int
        public var hard: Int

        /// Connections the hub takes before it answers 503.
        public var connectionCapacity: Int { max(16, soft - OpenFileLimit.reserved) }
    }

    public static func current() -> Limits {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Limits(soft: 1024, hard: 1024) }
        return Limits(soft: Self.clamp(limit.rlim_cur), hard: Self.clamp(limit.rlim_max))
    }

    /// Raises the soft limit to the hard one (each device is a descriptor).
    /// - Returns: the limits before and after.
    @discardableResult
    public static func raiseToHard() -> (before: Limits, after: Limits) {
        let before = current()
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return (before, current())
    }

    private static func clamp(_ value: rlim_t) -> Int {
        value > rlim_t(Int32.max) ? Int(Int32.max) : Int(value)
    }
}
