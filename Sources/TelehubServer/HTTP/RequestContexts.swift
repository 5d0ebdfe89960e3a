import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import TelehubCore
import Foundation

/// The context of every HTTP request. It keeps the connection's channel, so
/// that a stream whose client stopped reading can be disconnected even while
/// a write to it is pending.
struct HubRequestContext: RequestContext, ClientAddressed {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    var responseEncoder: WireResponseEncoder { WireResponseEncoder() }

    init(source: Source) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Where a request may carry a token.
enum Credentials {
    static let cookieName = "telehub_session"
    /// The header a cookie-authenticated change carries (`SessionSecret.csrf`).
    static let csrfHeader = HTTPField.Name("X-Telehub-CSRF")!
    /// The name over TLS: browsers keep a `__Host-` cookie only if it is
    /// `Secure`, for `/`, without `Domain`, and set from a secure origin.
    static let secureCookieName = "__Host-telehub_session"

    static func cookieName(secure: Bool) -> String { secure ? secureCookieName : cookieName }

    /// `Authorization: Bearer <token>`.
    static func bearer(_ request: Request) -> String? {
        bearer(authorization: request.headers[.authorization])
    }

    /// The token of an `Authorization: Bearer` header value.
    static func bearer(authorization value: String?) -> String? {
        guard let (scheme, credential) = authorization(value), scheme == "bearer" else { return nil }
        return credential
    }

    /// An `Authorization` header value as its scheme (lowercased) and credential.
    static func authorization(_ value: String?) -> (scheme: String, credential: String)? {
        guard let parts = value?.split(separator: " ", maxSplits: 1), parts.count == 2 else { return nil }
        return (parts[0].lowercased(), parts[1].trimmingCharacters(in: .whitespaces))
    }

    static func query(_ request: Request) -> String? {
        request.uri.queryParameters["token"].map(String.init)
    }

    /// The session cookie of a request over TLS (`secure`) or not: over TLS
    /// only the `__Host-` cookie counts, which plain http cannot have set.
    static func cookie(_ request: Request, secure: Bool) -> String? {
        request.cookies[cookieName(secure: secure)]?.value
    }

    /// Devices: the header, or `?token=` for clients that cannot set headers.
    static func device(_ request: Request) -> String? {
        bearer(request) ?? query(request)
    }

    /// The InfluxDB door: every form InfluxDB clients send a credential in:
    /// `Authorization: Token …` (2.x), `Bearer …`, basic authentication's
    /// password or the `p` parameter (1.x), and `?token=` as everywhere.
    static func influx(_ request: Request) -> String? {
        influx(headers: request.headers, uri: request.uri)
    }

    /// The same from a request's parts, where no `Request` is made (`LoopWriteHandler`).
    static func influx(headers: HTTPFields, uri: URI) -> String? {
        if let value = headers[.authorization] {
            switch authorization(value) {
            case ("token", let credential)?, ("bearer", let credential)?: return credential
            case ("basic", let credential)?: return basicPassword(credential)
            default: return nil
            }
        }
        let parameters = uri.queryParameters
        return (parameters["p"] ?? parameters["token"]).map(String.init)
    }

    /// The Prometheus door: `Bearer …`, or basic authentication's password (any user name).
    static func prometheus(_ request: Request) -> String? {
        switch authorization(request.headers[.authorization]) {
        case ("bearer", let credential)?: credential
        case ("basic", let credential)?: basicPassword(credential)
        default: nil
        }
    }

    /// The password of a basic-authentication credential (any user name).
    /// Only where no browser sends it unasked: the doors' read-only or
    /// device-token routes, never a state change made with a read token.
    static func basicPassword(_ encoded: String) -> String? {
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
            let colon = text.firstIndex(of: ":")
        else { return nil }
        return String(text[text.index(after: colon)...])
    }

}
