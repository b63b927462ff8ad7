import Foundation
import HTTPTypes
import Hummingbird
import SluiceCore
import SluiceEngine

/// Who may see the dashboard: the admin key, sent once as `?key=` (scripts) or
/// through the login form, after which a session cookie carries it; loopback
/// callers when the gateway is open (no keys at all), as for the admin API.
struct DashboardAuth {
    static let cookie = "sluice_session"
    let keyRing: KeyRing

    /// The outcome of checking a page request.
    enum Verdict {
        /// Let in; when non-nil, set this cookie on the response.
        case allowed(setCookie: String?)
        /// Show the login form with this message.
        case login(String?)
    }

    func check(_ request: Request, _ context: SluiceRequestContext) -> Verdict {
        if let key = request.uri.queryParameters.get("key") {
            guard (try? keyRing.authenticateAdmin(key: String(key), fromLoopback: context.isLoopback)) != nil else {
                return .login("That key is not the admin key.")
            }
            return .allowed(setCookie: sessionCookie())
        }
        if let token = Self.cookieValue(request, name: Self.cookie), keyRing.isDashboardSession(token) { return .allowed(setCookie: nil) }
        if !keyRing.hasAdminKey, (try? keyRing.authenticateAdmin(key: nil, fromLoopback: context.isLoopback)) != nil {
            return .allowed(setCookie: nil)
        }
        if let key = HTTPEdge.presentedKey(request.headers), (try? keyRing.authenticateAdmin(key: key, fromLoopback: context.isLoopback)) != nil {
            return .allowed(setCookie: nil)
        }
        return .login(nil)
    }

    /// The `Set-Cookie` value for a new session; nil without an admin key.
    func sessionCookie() -> String? {
        keyRing.dashboardSession.map { "\(Self.cookie)=\($0); Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000" }
    }

    /// Clears the session cookie.
    static let clearCookie = "\(cookie)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"

    /// A cookie's value from the request's `Cookie` headers.
    static func cookieValue(_ request: Request, name: String) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == name { return String(kv[1]) }
            }
        }
        return nil
    }

    /// A local path to go back to after logging in; anything else becomes `/`.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }

    /// Form fields from an `application/x-www-form-urlencoded` body.
    static func form(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if let k = kv.first { out[k] = kv.count > 1 ? kv[1] : "" }
        }
        return out
    }

    /// The login page.
    static func loginPage(next: String, message: String?) -> String {
        let msg = message.map { "<p class=\"bad\" id=\"login-error\">\(HTML.esc($0))</p>" } ?? ""
        return HTML.page(title: "Sign in", active: "", asOf: nil, body: """
            \(msg)<form method="post" action="/login" id="login"><input type="hidden" name="next" value="\(HTML.esc(next))">\
            <p><label>Admin key <input type="password" name="key" autocomplete="current-password" autofocus></label> \
            <button type="submit">Sign in</button></p></form>\
            <p class="muted">The dashboard needs the admin key (auth.admin_key). Scripts may add <code>?key=…</code> to any page.</p>
            """)
    }
}
