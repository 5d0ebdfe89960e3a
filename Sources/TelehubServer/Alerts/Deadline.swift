/// Runs work that must finish within a time, whatever it waits on.
enum Deadline {
    /// - Returns: the work's result, or nil when `duration` passed first (the
    ///   work is then cancelled: an HTTP client request closes its connection).
    static func run<T: Sendable>(
        within duration: Duration, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try? await Task.sleep(for: duration)
                return nil
            }
            defer { group.cancelAll() }
            // The first to finish decides: the answer, or nil for the clock.
            guard let first = try await group.next() else { return nil }
            return first
        }
    }
}
