import ServiceLifecycle

/// Sleeps for `duration` unless the hub starts shutting down (or the task is
/// cancelled) first. - Returns: false when the caller should stop its loop.
func sleepUnlessShuttingDown(for duration: Duration) async -> Bool {
    (try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }) != nil
}
