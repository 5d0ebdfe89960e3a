/// What happens to a command: every status change of the contract, and
/// what a repeat or a late event does, without a store or a socket. The
/// stores apply a transition only where this allows it, in the transaction
/// that changes the row, so two hubs (or a hub and the CLI) cannot move a
/// command past each other.
public enum CommandLifecycle {
    public enum Event: Sendable, Equatable {
        /// Written to the device's connection (again, for a resend).
        case send
        /// The device's `command_ack`.
        case ack
        /// The device's `command_result`; implies the ack.
        case result(succeeded: Bool)
        /// Its ttl passed.
        case expire
        /// The operator's cancel.
        case cancel
    }

    /// The outcome of an event in a status.
    public enum Outcome: Sendable, Equatable {
        /// The command moves to this status (a resend stays `sent`).
        case moves(to: CommandStatus)
        /// Nothing changes and nothing is said: a repeat, an unknown or late
        /// event (the contract: "answered with nothing and change nothing").
        case ignored
        /// The command is already final: the operator is told (409 for a cancel).
        case final
    }

    public static func apply(_ event: Event, to status: CommandStatus) -> Outcome {
        switch (event, status) {
        case (.send, .queued), (.send, .sent): .moves(to: .sent)
        case (.ack, .sent): .moves(to: .delivered)
        case (.result(let succeeded), .sent), (.result(let succeeded), .delivered): .moves(to: succeeded ? .succeeded : .failed)
        case (.expire, let current) where !current.isFinal: .moves(to: .expired)
        case (.cancel, let current) where !current.isFinal: .moves(to: .canceled)
        case (.cancel, _): .final
        default: .ignored
        }
    }

    /// The statuses an event may move a command from: exactly those where
    /// `apply` moves it (the lifecycle's table read the other way, which its
    /// tests check against the statuses the stores treat as open).
    public static func movesFrom(_ event: Event) -> [CommandStatus] {
        CommandStatus.allCases.filter { if case .moves = apply(event, to: $0) { true } else { false } }
    }
}
