import Hummingbird
import TelehubCore

/// The dashboard's login: a read token is exchanged for an HttpOnly,
/// SameSite=Strict session cookie, so the token never stays in the address
/// bar, in history, or within reach of page scripts.
struct SessionRoutes {
    let hub: Hub
    let secureCookies: Bool

    func register(on router: Router<HubRequestContext>) {
        router.post("/v1/session") { request, context in
            struct Login: Decodable { var token: String }
            let login = try await request.decode(as: Login.self, context: context)
            guard await hub.authenticator.identify(login.token, as: .read) != nil else { throw APIError.unauthorized }
            var response = JSONBody.response(json: #"{"status":"ok"}"#)
            response.setCookie(cookie(value: login.token))
            return response
        }
        // Lets the page ask "am I logged in?" without provoking a 401.
        router.get("/v1/session") { request, _ in
            let identity = await hub.authenticator.identify(Credentials.reader(request), as: .read)
            return JSONBody.response(json: #"{"authenticated":\#(identity != nil)}"#)
        }
        router.delete("/v1/session") { _, _ in
            var response = JSONBody.response(json: #"{"status":"ok"}"#)
            response.setCookie(cookie(value: "", maxAge: 0))
            return response
        }
    }

    func cookie(value: String, maxAge: Int? = 30 * 86_400) -> Cookie {
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
        guard await hub.authenticator.identify(token, as: .read) != nil else {
            return Response(status: .seeOther, headers: [.location: "/?login=failed", .cacheControl: "no-store"])
        }
        var response = Response(status: .seeOther, headers: [.location: "/", .cacheControl: "no-store"])
        response.setCookie(session.cookie(value: token))
        return response
    }
}
