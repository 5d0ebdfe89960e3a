import Foundation
import HTTPTypes
import Hummingbird
import TelehubAuth
import TelehubCore

/// The dashboard's login: a read token is exchanged for an HttpOnly,
/// SameSite=Strict cookie holding a random session id, so the token never
/// stays in the address bar, in history, or within reach of page scripts.
/// The session ends at logout, when its token is revoked or expires, and
/// after 30 days at most.
///
/// Over TLS (the hub's own, or a trusted proxy's `X-Forwarded-Proto: https`)
/// the cookie is `Secure` and named `__Host-telehub_session`, which a
/// browser accepts only from a secure origin for the whole host: a network
/// attacker cannot plant one over plain http.
struct SessionRoutes {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.post("/v1/session") { request, context in
            try LoginRequestCheck.requireJSON(request)
            if LoginRequestCheck.isCrossSite(request, origin: hub.origin(request, context)) {
                throw APIError(status: .forbidden, code: "forbidden", message: "a login from another site is refused")
            }
            let login = try await request.decode(as: SessionLogin.self, context: context)
            let identity = try await hub.requireReadToken(login.token, from: hub.clientAddress(request, context))
            var response = try SessionChange().response(from: request, context: context)
            response.setCookie(try await startSession(identity, secure: hub.isSecure(request, context)))
            return response
        }
        // Lets the page ask "am I logged in?" without provoking a 401. A wrong
        // token or cookie counts as a failed login all the same (429 once an
        // address fails too often), so this is no free oracle for guessing.
        router.get("/v1/session") { request, context -> SessionState in
            do {
                let identity = try await hub.requireReader(request, context)
                let cookie = Credentials.bearer(request) == nil ? Credentials.cookie(request, secure: hub.isSecure(request, context)) : nil
                return SessionState(authenticated: true, kind: identity.kind, csrf: cookie.flatMap(SessionSecret.csrf))
            } catch let error as APIError where error.status == .unauthorized {
                return SessionState(authenticated: false)
            }
        }
        router.delete("/v1/session") { request, context in
            let secure = hub.isSecure(request, context)
            await hub.authenticator.endSession(Credentials.cookie(request, secure: secure))
            var response = try SessionChange().response(from: request, context: context)
            response.setCookie(Self.cookie(value: "", maxAge: 0, secure: secure))
            return response
        }
    }

    func startSession(_ identity: TokenIdentity, secure: Bool) async throws -> Cookie {
        let (value, maxAge) = try await hub.authenticator.startSession(for: identity)
        return Self.cookie(value: value, maxAge: maxAge, secure: secure)
    }

    static func cookie(value: String, maxAge: Int, secure: Bool) -> Cookie {
        Cookie(
            name: Credentials.cookieName(secure: secure), value: value, maxAge: maxAge, path: "/", secure: secure,
            httpOnly: true, sameSite: .strict)
    }
}

/// Login CSRF: another site must not log a browser into the hub with a
/// token of its choosing (the person would then act, unknowing, in the
/// attacker's session).
enum LoginRequestCheck {
    /// `POST /v1/session` takes JSON only: a cross-site HTML form cannot send
    /// it without a CORS preflight, which the hub never grants.
    static func requireJSON(_ request: Request) throws {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw APIError(
                status: .unsupportedMediaType, code: "unsupported_media_type",
                message: "send the token as JSON: Content-Type: application/json, {\"token\":\"thr_…\"}")
        }
    }

    /// The browser says another site sent the request (`Sec-Fetch-Site:
    /// cross-site`), or, from a browser too old to say, its `Origin` names
    /// another host than the one asked. A link pasted into the address bar or
    /// opened from a mail program says `none`; clients that are not browsers
    /// send neither header.
    static func isCrossSite(_ request: Request, origin: RequestOrigin) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] { return site.lowercased() == "cross-site" }
        guard let sent = request.headers[HTTPField.Name("Origin")!] else { return false }
        guard sent != "null", let host = origin.host else { return true }
        let named = sent.split(separator: "://", maxSplits: 1).last.map(String.init) ?? sent
        return !RequestOrigin.sameHost(named, host)
    }
}

/// `GET /?token=<read token>`: sets the session cookie and redirects to `/`,
/// which removes the token from the address bar. A link another site sent
/// the browser to logs nobody in (`/?login=refused`).
struct LoginExchangeMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let hub: Hub
    let session: SessionRoutes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.method == .get, request.uri.path == "/", let token = Credentials.query(request) else {
            return try await next(request, context)
        }
        if LoginRequestCheck.isCrossSite(request, origin: hub.origin(request, context)) {
            return Response(status: .seeOther, headers: [.location: "/?login=refused", .cacheControl: "no-store"])
        }
        let identity: TokenIdentity
        do {
            identity = try await hub.requireReadToken(token, from: hub.clientAddress(request, context))
        } catch let error as APIError where error.status == .unauthorized {
            return Response(status: .seeOther, headers: [.location: "/?login=failed", .cacheControl: "no-store"])
        }
        var response = Response(status: .seeOther, headers: [.location: "/", .cacheControl: "no-store"])
        response.setCookie(try await session.startSession(identity, secure: hub.isSecure(request, context)))
        return response
    }
}
