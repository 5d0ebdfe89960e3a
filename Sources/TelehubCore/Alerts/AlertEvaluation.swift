/// Where one rule stands for one device. Kept in the store beside the
/// readings, so a restart neither forgets a pending `--for` nor fires twice.
public struct AlertSeriesState: Sendable, Equatable {
    public enum Phase: String, Sendable, Codable {
        case ok, pending, firing
    }

    public var phase: Phase
    /// Pending: the first reading's `ts` in the run that meets the condition.
    /// Firing: when it fired. Ok: when it last cleared (0 if never fired).
    public var since: Int64
    /// The last value evaluated (nil for offline rules and before any reading).
    public var value: Double?

    public init(phase: Phase = .ok, since: Int64 = 0, value: Double? = nil) {
        self.phase = phase
        self.since = since
        self.value = value
    }
}

/// A change a person is told about: an alert fired or resolved.
public struct AlertTransition: Sendable, Equatable {
    public enum State: String, Sendable, Codable { case firing, resolved }

    public var ruleID: Int64
    public var device: String
    public var state: State
    /// The value that caused it; nil for an offline alert.
    public var value: Double?
    /// When it happened: the reading's `ts`, or the clock for offline alerts.
    public var ts: Int64
    /// When the alert began firing (equal to `ts` for `firing`).
    public var startsAt: Int64

    public init(ruleID: Int64, device: String, state: State, value: Double?, ts: Int64, startsAt: Int64) {
        self.ruleID = ruleID
        self.device = device
        self.state = state
        self.value = value
        self.ts = ts
        self.startsAt = startsAt
    }
}

/// The rule state machine: pure, so every edge is unit-tested, and the same
/// for every caller (the ingest path evaluates committed readings with it,
/// the offline watch the clock).
public enum AlertEvaluation {
    /// One reading, in commit order.
    /// - Returns: the new state, and the transition to notify if any.
    public static func reading(
        _ threshold: Threshold, _ state: AlertSeriesState, ts: Int64, value: Double
    ) -> (AlertSeriesState, AlertTransition.State?) {
        switch state.phase {
        case .ok:
            guard threshold.holds(value) else { return (AlertSeriesState(phase: .ok, since: state.since, value: value), nil) }
            if threshold.forMs == 0 { return (AlertSeriesState(phase: .firing, since: ts, value: value), .firing) }
            return (AlertSeriesState(phase: .pending, since: ts, value: value), nil)
        case .pending:
            // A reading that breaks the run (a short spike) starts over.
            guard threshold.holds(value) else { return (AlertSeriesState(phase: .ok, since: state.since, value: value), nil) }
            if ts - state.since >= threshold.forMs { return (AlertSeriesState(phase: .firing, since: ts, value: value), .firing) }
            return (AlertSeriesState(phase: .pending, since: state.since, value: value), nil)
        case .firing:
            if threshold.clears(value) { return (AlertSeriesState(phase: .ok, since: ts, value: value), .resolved) }
            return (AlertSeriesState(phase: .firing, since: state.since, value: value), nil)
        }
    }

    /// A device's silence, checked against the clock.
    /// - Parameters:
    ///   - lastSeen: when the device last sent anything (0: never).
    ///   - now: the hub's clock.
    public static func silence(
        afterMs: Int64, _ state: AlertSeriesState, lastSeen: Int64, now: Int64
    ) -> (AlertSeriesState, AlertTransition.State?) {
        let silent = lastSeen > 0 && now - lastSeen >= afterMs
        switch (state.phase, silent) {
        case (.firing, false):
            return (AlertSeriesState(phase: .ok, since: now), .resolved)
        case (.ok, true), (.pending, true):
            // Fired at the moment the silence reached the limit, not when it was noticed.
            return (AlertSeriesState(phase: .firing, since: lastSeen + afterMs), .firing)
        default:
            return (state, nil)
        }
    }

    /// When the offline watch must look again for this device: the moment its
    /// silence would reach the limit, or nil when nothing can change by the
    /// clock alone (firing clears only when the device sends).
    public static func nextSilenceCheck(afterMs: Int64, _ state: AlertSeriesState, lastSeen: Int64) -> Int64? {
        guard state.phase != .firing, lastSeen > 0 else { return nil }
        return lastSeen + afterMs
    }
}
