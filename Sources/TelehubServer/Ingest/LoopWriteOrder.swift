/// HTTP/1.1 answers a connection's requests in the order they came. On a
/// keep-alive connection some requests go to the router (Hummingbird, in the
/// connection's task) and line-protocol writes may be answered on the event
/// loop itself; this decides which, without sockets, so that the order holds:
/// the loop takes a request only when the router owes no answer, and while
/// the loop's own answer is pending, the parts that follow wait.
struct LoopWriteOrder: Equatable {
    enum Part: Equatable {
        /// `eligible`: a request the loop could answer (a write, plainly framed).
        case head(eligible: Bool)
        case body
        case end
    }

    enum Action: Equatable {
        /// Pass the part on to the router.
        case forward
        /// Keep the part: the request is the loop's.
        case collect
        /// The loop's request is complete: check it, submit it, answer it.
        case answerCollected
        /// Hold the part until the loop's answer is out (`ownAnswered`).
        case hold
    }

    private enum Current: Equatable {
        case between
        case forwarding
        case collecting
        case answering
    }

    private var current = Current.between
    /// Requests passed to the router whose answers have not ended yet.
    private(set) var routerOwed = 0

    /// What to do with the next inbound part.
    mutating func inbound(_ part: Part) -> Action {
        switch (current, part) {
        case (.answering, _):
            return .hold
        case (.between, .head(let eligible)):
            if eligible, routerOwed == 0 {
                current = .collecting
                return .collect
            }
            current = .forwarding
            routerOwed += 1
            return .forward
        case (.collecting, .body):
            return .collect
        case (.collecting, .end):
            current = .answering
            return .answerCollected
        case (.forwarding, .end):
            current = .between
            return .forward
        case (.forwarding, _), (.between, _), (.collecting, .head):
            // The decoder never sends these; passing them on lets the router fail as it would.
            return .forward
        }
    }

    /// The router's answer to one request ended (its `.end` went out).
    mutating func routerAnswered() {
        routerOwed = max(0, routerOwed - 1)
    }

    /// The loop's answer is out: held parts may come through `inbound` again, in order.
    mutating func ownAnswered() {
        guard current == .answering else { return }
        current = .between
    }

    /// The loop's request goes to the router after all (a credential or a
    /// body the router answers with its own error): it is owed from there.
    mutating func handedToRouter() {
        guard current == .answering else { return }
        current = .between
        routerOwed += 1
    }
}
