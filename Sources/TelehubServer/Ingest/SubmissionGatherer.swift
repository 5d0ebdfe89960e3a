import Synchronization

/// Hands the messages of HTTP requests (`POST /v1/ingest`, the InfluxDB
/// door's writes) to the ingest actor in batches, as `LoopConnections` does
/// for device connections: whatever arrived while the last batch was being
/// taken goes in the next, in one hop to the actor.
///
/// A hop per request had each request's task queue on the busy actor and then
/// queue again to get back to its own executor: on 100 keep-alive `/write`
/// connections, more of the hub's CPU than parsing the lines. The batch waits
/// for nothing: the first message of a quiet moment is handed over at once.
/// It holds at most one message per open HTTP request.
final class SubmissionGatherer: Sendable {
    private struct State {
        var waiting: [IngestActor.Submission] = []
        /// A task is taking batches to the actor; it stops when none is left.
        var handingOff = false
    }

    private let ingest: IngestActor
    private let state = Mutex(State())

    init(ingest: IngestActor) {
        self.ingest = ingest
    }

    /// Queues a message for the actor; its completion says what became of it.
    func submit(_ submission: IngestActor.Submission) {
        let start = state.withLock { state -> Bool in
            state.waiting.append(submission)
            guard !state.handingOff else { return false }
            state.handingOff = true
            return true
        }
        if start { Task { await handOff() } }
    }

    private func handOff() async {
        while true {
            let batch = state.withLock { state -> [IngestActor.Submission] in
                if state.waiting.isEmpty { state.handingOff = false }
                defer { state.waiting.removeAll(keepingCapacity: true) }
                return state.waiting
            }
            guard !batch.isEmpty else { return }
            await ingest.submit(batch: batch)
        }
    }
}
