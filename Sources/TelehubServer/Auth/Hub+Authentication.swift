import Hummingbird
import NIOCore
import TelehubAuth
import TelehubCore
import CoreMetrics

/// A request context that knows the client's address, for `--auth-fail-limit`.
protocol ClientAddressed {
    var channel: any Channel { get }
}

extension ClientAddressed {
    /// The connection's IP address without its port.
    var peerAddress: String {
        channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

extension Hub {
    /// The client's address, failures are counted per address: the peer, or
    /// behind a trusted proxy the client it names (`trusted-proxies`).
    func clientAddress(_ request: Request, _ context: some ClientAddressed) -> String {
        ClientAddress.resolve(
            peer: context.peerAddress, forwardedFor: request.headers[values: .init("X-Forwarded-For")!],
            trusted: configuration.trustedProxies)
    }

    /// Throws 401 unless the request carries a live read token (header) or a
    /// live dashboard session (cookie); 429 while its address is refused for
    /// failing too often.
    @discardableResult
    func requireReader(_ request: Request, _ context: some ClientAddressed) async throws -> TokenIdentity {
        try await authenticate(from: clientAddress(request, context)) {
            if let token = Credentials.bearer(request) { return .presented(await authenticator.identify(token, as: .read)) }
            if let cookie = Credentials.cookie(request, secure: isSecure(request, context)) { return .presented(await authenticator.identifySession(cookie)) }
            return .nothing
        }
    }

    /// Throws 401 unless `credential` finds a live read (or control) token in
    /// the request: the doors, whose clients send a header (Grafana's basic
    /// authentication, `promtool`'s bearer), never the dashboard's cookie.
    @discardableResult
    func requireReader(
        _ request: Request, _ context: some ClientAddressed, credential: (Request) -> String?
    ) async throws -> TokenIdentity {
        try await requireToken(.read, request, context, credential: credential)
    }


    /// Throws 401 without a live read or control credential (as
    /// `requireReader`), 403 for a read one, and 403 for a change made through
    /// a dashboard session without its `X-Telehub-CSRF` value: another site
    /// can make a browser send the cookie, never that header.
    @discardableResult
    func requireController(_ request: Request, _ context: some ClientAddressed) async throws -> TokenIdentity {
        let identity = try await requireReader(request, context)
        guard identity.kind == .control else {
            throw APIError(status: .forbidden, code: "forbidden", message: "this needs a control token (thc_…)")
        }
        if Credentials.bearer(request) == nil, Self.changesState(request.method) {
            let cookie = Credentials.cookie(request, secure: isSecure(request, context))
            guard let cookie, let expected = SessionSecret.csrf(cookie),
                let sent = request.headers[Credentials.csrfHeader],
                Crypto.constantTimeEquals(Array(sent.utf8), Array(expected.utf8))
            else {
                throw APIError(
                    status: .forbidden, code: "forbidden",
                    message: "a change through the dashboard session needs the X-Telehub-CSRF value of GET /v1/session")
            }
        }
        return identity
    }

    /// Every method but the safe ones (RFC 9110) changes something.
    static func changesState(_ method: HTTPRequest.Method) -> Bool {
        ![.get, .head, .options].contains(method)
    }

    /// Throws 401 unless the request carries a live device token (header or
    /// `?token=`, or where `credential` finds one).
    func requireDevice(
        _ request: Request, _ context: some ClientAddressed, credential: (Request) -> String? = Credentials.device
    ) async throws -> TokenIdentity {
        try await requireToken(.device, request, context, credential: credential) { $0.deviceID != nil && $0.deviceName != nil }
    }

    /// Throws 401 unless `credential` finds a live token granting `kind` that
    /// `accepts` takes; a token presented and refused counts as a failure.
    private func requireToken(
        _ kind: TokenKind, _ request: Request, _ context: some ClientAddressed, credential: (Request) -> String?,
        accepts: (TokenIdentity) -> Bool = { _ in true }
    ) async throws -> TokenIdentity {
        try await authenticate(from: clientAddress(request, context)) {
            guard let token = credential(request) else { return .nothing }
            return .presented(await authenticator.identify(token, as: kind).flatMap { accepts($0) ? $0 : nil })
        }
    }

    /// Verifies a login token (`POST /v1/session`, `/?token=`), counting a wrong one as a failure.
    func requireReadToken(_ token: String, from address: String) async throws -> TokenIdentity {
        try await authenticate(from: address) { .presented(await authenticator.identify(token, as: .read)) }
    }

    enum Attempt {
        /// No credential at all: not a failed attempt, just unauthorized.
        case nothing
        case presented(TokenIdentity?)
    }

    private func authenticate(from address: String, _ attempt: () async -> Attempt) async throws -> TokenIdentity {
        if let wait = authenticator.retryAfterMs(address: address) { throw APIError.tooManyFailures(retryAfterMs: wait) }
        switch await attempt() {
        case .nothing:
            throw APIError.unauthorized
        case .presented(nil):
            authenticator.recordFailure(address: address)
            metrics.authFailures.increment()
            throw APIError.unauthorized
        case .presented(let identity?):
            return identity
        }
    }
}
