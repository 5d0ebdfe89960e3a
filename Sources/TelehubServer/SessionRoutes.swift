import Hummingbird
import TelehubCore

/// The dashboard's login: a read token is exchanged for an HttpOnly,
/// SameSite=Strict cookie holding a random session id, so the token never
/// stays in the address bar, in history, or within reach of page scripts.
/// The session ends at logout, when its token is revoked or expires, and
/// after 30 days at most.
struct SessionRoutes {
    let hub: Hub
    let secureCookies: Bool

    func register(on router: Router<HubRequestContext>) {
        router.post("/v1/session") { request, context in
            let login = try await request.decode(as: SessionLogin.self, context: context)
            let identity = try await hub.requireReadToken(login.token, from: hub.clientAddress(request, context))
            var response = try SessionChange().response(from: request, context: context)
            response.setCookie(try await startSession(identity))
            return response
        }
        // Lets the page ask "am I logged in?" without provoking a 401.
        router.get("/v1/session") { request, _ -> SessionState in
            let identity: TokenIdentity? =
                if let token = Credentials.bearer(request) {
                    await hub.authenticator.identify(token, as: .read)
                } else {
                    await hub.authenticator.identifySession(Credentials.cookie(request))
                }
            return SessionState(authenticated: identity != nil)
        }
        router.delete("/v1/session") { request, context in
            await hub.authenticator.endSession(Credentials.cookie(request))
            var response = try SessionChange().response(from: request, context: context)
            response.setCookie(cookie(value: "", maxAge: 0))
            return response
        }
    }

    func startSession(_ identity: TokenIdentity) async throws -> Cookie {
        let (value, maxAge) = try await hub.authenticator.startSession(for: identity)
        return cookie(value: value, maxAge: maxAge)
    }

    private func cookie(value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: Credentials.cookieName, value: value, maxAge: maxAge, path: "/", secure: secureCookies,
            httpOnly: true, sameSite: .strict)
    }
}

/// `GET /?token=<read token>`: sets the session cookie and redirects to `/`,
/// which removes the token from the address bar.
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
        let identity: TokenIdentity
        do {
            identity = try await hub.requireReadToken(token, from: hub.clientAddress(request, context))
        } catch let error as APIError where error.status == .unauthorized {
            return Response(status: .seeOther, headers: [.location: "/?login=failed", .cacheControl: "no-store"])
        }
        var response = Response(status: .seeOther, headers: [.location: "/", .cacheControl: "no-store"])
        response.setCookie(try await session.startSession(identity))
        return response
    }
}
