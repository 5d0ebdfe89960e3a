import Logging
import NIOCore
public import ServiceLifecycle
public import TelehubCore
import TelehubStore
import Metrics
import CoreMetrics

/// The one writer of the hub. Messages from every connection queue here and
/// are committed together: a flush starts when enough values are pending or
/// a short interval has passed, runs in one transaction, and only then are
/// the messages acknowledged and published to the live stream.
public actor IngestActor: Service {
    /// A validated message on its way to a commit. A class of constants: the actor
    /// queues, batches and acknowledges it through several arrays, and a
    /// struct of five references was retained five times at every copy
    /// (2.5% of the hub's samples with 100 devices sending one reading a
    /// message, `perf record -g`).
    public final class Submission: Sendable {
        public let deviceID: Int64
        public let device: String
        public let message: IngestMessage
        public let receivedAt: Int64
        /// Called once the message is durable (or could not be stored).
        public let completion: @Sendable (Outcome) -> Void
        /// The values it stores, at least 1: what queue limits count.
        let weight: Int

        public init(
            deviceID: Int64, device: String, message: IngestMessage, receivedAt: Int64,
            completion: @escaping @Sendable (Outcome) -> Void
        ) {
            self.deviceID = deviceID
            self.device = device
            self.message = message
            self.receivedAt = receivedAt
            self.completion = completion
            self.weight = max(1, message.valueCount)
        }

        /// The same message with nothing to store: a duplicate is acknowledged, not stored again.
        func withoutData() -> Submission {
            Submission(
                deviceID: deviceID, device: device, message: IngestMessage(seq: message.seq, readings: []), receivedAt: receivedAt,
                completion: completion)
        }
    }

    public enum Outcome: Sendable, Equatable {
        /// Stored, or a duplicate of something already stored.
        case committed(seq: Int64?)
        case rejected(IngestRejection)
    }

    /// Commits, and the rules with what they need (states, units) when their version moved.
    private let store: any IngestStore & AlertStore & DeviceCatalog
    private let live: LiveHub
    /// Set when several hubs share the store: commits log their readings and
    /// the feed publishes them in the log's order.
    private let feed: StreamFeed?
    /// How long a flush waits for more values; nil: group commit, the next
    /// flush starts as soon as the last commit is done and takes whatever
    /// arrived meanwhile (low latency when quiet, large batches under load).
    private let flushInterval: Duration?
    private let overloadWait: Duration
    private let rateLimiter: RateLimiter
    private var retryHolds = RetryHolds()
    private let metrics: HubMetrics
    private let health: StoreHealth
    private var seriesLimit: SeriesLimit
    private let logger = Logger(label: "telehub.ingest")

    /// Threshold rules and their state; evaluated on each flush's points
    /// before the commit, applied once it succeeded.
    private var alerts: AlertBook
    /// The version of the rules `alerts` holds; nil before the first read.
    private var rulesVersion: Int64?
    private let announcer: AlertAnnouncer
    /// Told of the commands a commit's answers changed (stream, next sends).
    private let commands: CommandCenter?

    private var pending: IngestQueue<Submission>
    /// Highest `seq` accepted per device (committed or pending), for dedup.
    private var acceptedSeq: [Int64: Int64] = [:]
    /// Signalled when a flush made room in the queue (submitters wait on it).
    private let roomFreed = Wake()
    /// Signalled when enough values wait for a flush (the flush loop waits on it).
    private let flushDue = Wake()
    private var stopping = false
    private nonisolated let wakeups: AsyncStream<Void>
    private nonisolated let wake: AsyncStream<Void>.Continuation

    init(
        store: any IngestStore & AlertStore & DeviceCatalog, live: LiveHub, configuration: HubConfiguration, metrics: HubMetrics,
        rateLimiter: RateLimiter, health: StoreHealth, announcer: AlertAnnouncer, feed: StreamFeed? = nil,
        commands: CommandCenter? = nil
    ) {
        self.store = store
        self.commands = commands
        self.feed = feed
        self.announcer = announcer
        self.alerts = AlertBook(retryForMs: configuration.webhookRetryForMs)
        self.health = health
        self.seriesLimit = SeriesLimit(maxSeries: configuration.maxSeries)
        self.rateLimiter = rateLimiter
        self.metrics = metrics
        self.overloadWait = .milliseconds(max(1, configuration.overloadWaitMs))
        self.live = live
        self.flushInterval = configuration.flushIntervalMs > 0 ? .milliseconds(configuration.flushIntervalMs) : nil
        self.pending = IngestQueue(flushValues: configuration.flushValues, capacity: configuration.queueValues)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues the messages of one event loop's turn, or of the HTTP requests
    /// that arrived meanwhile, in order: one hop to the actor for many. They
    /// share one wait for room, so a full queue refuses a batch's messages
    /// after `overloadWait`, not after that times the batch's length.
    public func submit(batch: [Submission]) async {
        let deadline = ContinuousClock.now + overloadWait
        for submission in batch { await submit(submission, roomBy: deadline) }
    }

    /// Queues a message; waits while the queue is full (backpressure).
    /// A message at or below the device's accepted `seq` is acknowledged after
    /// the next commit and not stored again.
    public func submit(_ submission: Submission) async {
        await submit(submission, roomBy: ContinuousClock.now + overloadWait)
    }

    /// - Parameter deadline: when a message still without room in the queue is refused (503).
    private func submit(_ submission: Submission, roomBy deadline: ContinuousClock.Instant) async {
        if let refusal = admit(submission) {
            return refuse(submission, refusal)
        }
        while !pending.hasRoom, !stopping {
            guard ContinuousClock.now < deadline else {
                let message = "the ingest queue is full; send again in \(overloadWait.milliseconds) ms"
                return refuse(submission, IngestRejection(
                    .overloaded, message, seq: submission.message.seq, retryAfterMs: Int(overloadWait.milliseconds)))
            }
            await roomFreed.wait(until: deadline)
        }
        guard !stopping else {
            return refuse(submission, IngestRejection(
                .overloaded, "the hub is shutting down", seq: submission.message.seq, retryAfterMs: 1000))
        }
        var submission = submission
        if let seq = submission.message.seq {
            let accepted = try? await acceptedSequence(of: submission.deviceID)
            if let accepted, seq <= accepted { submission = submission.withoutData() }
        }
        if let refusal = await admitSeries(submission) {
            return refuse(submission, refusal)
        }
        if let seq = submission.message.seq, submission.message.carriesData {
            acceptedSeq[submission.deviceID] = seq
        }
        enqueue(submission)
    }

    /// The `--max-series` bound: a message that would give its device more
    /// distinct metrics is refused whole; metrics it already has keep working.
    private func admitSeries(_ submission: Submission) async -> IngestRejection? {
        guard !submission.message.readings.isEmpty else { return nil }
        let deviceID = submission.deviceID
        if !seriesLimit.knows(deviceID) {
            guard let names = try? await store.metricNames(deviceID: deviceID) else {
                return IngestRejection(
                    .overloaded, "the store could not be read; send again", seq: submission.message.seq, retryAfterMs: 1000)
            }
            seriesLimit.learn(deviceID, names)
        }
        return seriesLimit.admit(deviceID, submission.message).map {
            IngestRejection(.tooManySeries, $0, seq: submission.message.seq)
        }
    }

    /// Forgets what is known of every device's series, after retention removed some.
    public func seriesRemoved() {
        seriesLimit.forgetAll()
    }

    /// A device opens a new connection: it resumes from `hello.lastSeq`, so an
    /// earlier hold no longer applies. What its first message would read from
    /// the store (its accepted `seq`, its metrics) is read now, while it says
    /// hello: a thousand devices reconnecting at once must not make their
    /// first messages queue behind a thousand store reads.
    /// - Parameter lastSeq: the device's stored `seq`, as its `hello` said.
    public func connectionStarted(deviceID: Int64, lastSeq: Int64? = nil) async {
        retryHolds.clear(deviceID: deviceID)
        if let lastSeq, acceptedSeq[deviceID] == nil { acceptedSeq[deviceID] = lastSeq }
        guard !seriesLimit.knows(deviceID), let names = try? await store.metricNames(deviceID: deviceID) else { return }
        if !seriesLimit.knows(deviceID) { seriesLimit.learn(deviceID, names) }
    }

    /// The hold and the rate limit, checked before a message may queue.
    private func admit(_ submission: Submission) -> IngestRejection? {
        let seq = submission.message.seq
        if let seq, let held = retryHolds.refusal(deviceID: submission.deviceID, seq: seq) { return held }
        return rateLimiter.admit(deviceID: submission.deviceID, readings: submission.message.readings.count, seq: seq)
    }

    /// Refuses a message. A retryable refusal holds the device's later
    /// messages too, until this one is sent again: otherwise a later message
    /// would raise `lastSeq` past it and the resend would be taken for a duplicate.
    private func refuse(_ submission: Submission, _ rejection: IngestRejection) {
        if rejection.code.isRetryable, let seq = submission.message.seq {
            retryHolds.hold(deviceID: submission.deviceID, seq: seq, rejection: rejection)
        }
        submission.completion(.rejected(rejection))
    }

    private func acceptedSequence(of deviceID: Int64) async throws -> Int64 {
        if let known = acceptedSeq[deviceID] { return known }
        let stored = try await store.lastSeq(deviceID: deviceID)
        let known = max(stored, acceptedSeq[deviceID] ?? 0)
        acceptedSeq[deviceID] = known
        return known
    }

    private func enqueue(_ submission: Submission) {
        let wasEmpty = pending.isEmpty
        pending.append(submission, weight: submission.weight)
        metrics.queueValues.set(pending.values)
        if wasEmpty { wake.yield() }
        if pending.isFlushDue { flushDue.signal() }
    }

    // MARK: - Flushing

    public func run() async {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                while !pending.isEmpty {
                    if let flushInterval { await waitForSizeOrInterval(flushInterval) }
                    await flushOnce()
                }
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        stopping = true
        roomFreed.signal()
        while !pending.isEmpty { await flushOnce() }
    }

    /// Returns when `flushValues` are pending or `interval` has passed.
    private func waitForSizeOrInterval(_ interval: Duration) async {
        flushDue.clear()
        guard !pending.isFlushDue else { return }
        await flushDue.wait(until: .now + interval)
    }

    /// The next flush's messages; wakes the submitters waiting for room.
    private func takeChunk() -> [Submission] {
        let chunk = pending.takeChunk()
        metrics.queueValues.set(pending.values)
        if pending.hasRoom { roomFreed.signal() }
        return chunk
    }

    /// Replaces the threshold rules (the alert service reads them from the store).
    /// - Parameter version: the rules' version read before the rules: a
    ///   newer one seen at the next flush reloads them.
    func loadAlertRules(
        _ rules: [AlertRule], stored: [StoredAlertState], displays: MetricDisplayBook, version: Int64?
    ) {
        alerts.displays = displays
        alerts.load(rules: rules.filter { if case .threshold = $0.condition { true } else { false } }, stored: stored)
        rulesVersion = version
    }

    /// Before a flush: reloads the rules when another command (this hub's
    /// CLI, another hub) created or deleted one since they were read, so a
    /// rule applies to every reading that arrives after it was made.
    private func refreshRulesIfChanged() async {
        do {
            let version = try await store.alertRulesVersion()
            guard version != rulesVersion else { return }
            let rules = try await store.alertRules()
            let stored = try await store.alertStates()
            let displays = try await store.metricDisplays()
            loadAlertRules(rules, stored: stored, displays: MetricDisplayBook(displays), version: version)
        } catch {
            // The commit that follows reports a store that fails; the alert service retries the rules.
            logger.warning("could not read the alert rules before a commit: \(error)")
        }
    }

    /// The commit batch of `chunk`, with what its points do to the alert rules.
    private func batch(of chunk: [Submission]) -> (CommitBatch, AlertBook.Evaluation?) {
        var batch = Self.batch(of: chunk)
        batch.stream = feed?.entry(for: Self.readings(of: chunk))
        guard alerts.hasThresholdRules else { return (batch, nil) }
        var names: [Int64: String] = [:]
        for item in chunk { names[item.deviceID] = item.device }
        let evaluation = alerts.evaluate(batch.points, deviceName: { names[$0] }, now: EpochClock.nowMs())
        batch.alerts = evaluation.changes
        return (batch, evaluation)
    }

    /// After a successful commit: the rules' new state, and the transitions on the stream.
    private func committed(_ evaluation: AlertBook.Evaluation?, _ result: CommitResult) async {
        guard let evaluation else { return }
        alerts.apply(evaluation, missing: result.missingDevices)
        await announcer.announce(evaluation.changes, from: alerts, skipping: result.missingDevices)
    }

    private func flushOnce() async {
        let chunk = takeChunk()
        await refreshRulesIfChanged()
        let (batch, evaluation) = batch(of: chunk)
        let started = ContinuousClock.now
        do {
            let result = try await store.commit(batch)
            health.succeeded()
            metrics.commitLatency.record(duration: ContinuousClock.now - started)
            metrics.flushValues.record(batch.points.count)
            await committed(evaluation, result)
            await finish(chunk, result)
        } catch let fault as StoreUnavailable {
            refuseAfterFault(chunk, fault)
        } catch {
            logger.error("a flush of \(chunk.count) messages failed on their data (\(error)); storing them one by one")
            await commitSeparately(chunk)
        }
    }

    /// Acknowledges what was stored and publishes it; messages of a device
    /// deleted meanwhile are refused.
    private func finish(_ chunk: [Submission], _ result: CommitResult) async {
        var stored: [Submission] = []
        for item in chunk {
            if result.missingDevices.contains(item.deviceID) {
                acceptedSeq[item.deviceID] = nil
                seriesLimit.forget(item.deviceID)
                item.completion(.rejected(IngestRejection(
                    .invalidMessage, "device \(item.device) was deleted; nothing was stored", seq: item.message.seq)))
            } else {
                stored.append(item)
                item.completion(.committed(seq: item.message.seq))
            }
        }
        if let commands, !result.commands.isEmpty { await commands.answered(result.commands) }
        if !result.states.isEmpty {
            let now = EpochClock.nowMs()
            var names: [Int64: String] = [:]
            for item in chunk { names[item.deviceID] = item.device }
            await ControlEvents(live: live, feed: feed).states(result.states.compactMap { id, state in
                names[id].map { StateStreamEvent(device: $0, state: state, at: now) }
            })
        }
        metrics.messages.increment(by: stored.count)
        metrics.values.increment(by: stored.reduce(0) { $0 + $1.message.valueCount })
        if let feed, let positions = result.stream {
            // The logged entry, as every other hub publishes it (a device
            // deleted meanwhile included: its readings were logged before
            // the commit knew, and the ids must be the same everywhere).
            await feed.committed(positions, Self.readings(of: chunk))
        } else {
            await live.publish(Self.readings(of: stored))
        }
    }

    private static func readings(of chunk: [Submission]) -> [(device: String, reading: Reading)] {
        chunk.flatMap { item in item.message.readings.map { (item.device, $0) } }
    }

    /// A flush failed because of some message's data: each message is stored
    /// on its own, so only the one the store refuses gets an error.
    private func commitSeparately(_ chunk: [Submission]) async {
        for (index, item) in chunk.enumerated() {
            do {
                let (batch, evaluation) = batch(of: [item])
                let result = try await store.commit(batch)
                health.succeeded()
                await committed(evaluation, result)
                await finish([item], result)
            } catch let fault as StoreUnavailable {
                return refuseAfterFault(Array(chunk[index...]), fault)
            } catch {
                logger.error("message \(item.message.seq.map(String.init) ?? "-") of \(item.device) was not stored: \(error)")
                item.completion(.rejected(IngestRejection(
                    .invalidValue, "the store refused this message's data: \(error)", seq: item.message.seq)))
            }
        }
    }

    /// The store cannot write: nothing is acknowledged. The chunk and
    /// everything queued behind it for the same devices is refused as
    /// retryable, so no later message of theirs commits past the gap.
    private func refuseAfterFault(_ chunk: [Submission], _ fault: StoreUnavailable) {
        health.failed(fault.reason)
        logger.error("commit failed, \(chunk.count) messages refused as retryable: \(fault.reason)")
        let devices = Set(chunk.map(\.deviceID))
        let behind = pending.removeAll { devices.contains($0.deviceID) }
        metrics.queueValues.set(pending.values)
        for deviceID in devices { acceptedSeq[deviceID] = nil }
        for item in chunk + behind {
            refuse(item, IngestRejection(
                .overloaded, "the store cannot write (\(fault.reason)); send again", seq: item.message.seq,
                retryAfterMs: 1000))
        }
    }

    static func batch(of chunk: [Submission]) -> CommitBatch {
        var points: [SeriesPoint] = []
        points.reserveCapacity(chunk.reduce(0) { $0 + $1.weight })
        var progress: [Int64: DeviceProgress] = [:]
        var commands: [CommandChange] = []
        var reports: [PendingReport] = []
        for item in chunk {
            if let report = item.message.report { reports.append(PendingReport(deviceID: item.deviceID, report: report)) }
            for reading in item.message.readings {
                for metric in reading.metrics {
                    points.append(SeriesPoint(deviceID: item.deviceID, metric: metric.name, ts: reading.ts, value: metric.value))
                }
            }
            for answer in item.message.commands {
                commands.append(CommandChange(
                    id: answer.id, device: item.device, event: answer.event, result: answer.result, message: answer.message))
            }
            var entry = progress[item.deviceID] ?? DeviceProgress(deviceID: item.deviceID, lastSeq: nil, lastSeen: 0)
            if let seq = item.message.seq { entry.lastSeq = max(entry.lastSeq ?? 0, seq) }
            entry.lastSeen = max(entry.lastSeen, item.receivedAt)
            progress[item.deviceID] = entry
        }
        return CommitBatch(points: points, progress: Array(progress.values), commands: commands, reports: reports)
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// For NIO's timers.
    var timeAmount: TimeAmount { .nanoseconds(milliseconds * 1_000_000) }
}
