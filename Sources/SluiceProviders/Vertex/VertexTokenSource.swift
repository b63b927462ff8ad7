import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore

/// How a Vertex AI provider authenticates.
public enum VertexCredentials: Sendable {
    /// A fixed OAuth access token (`access_token:`), sent as it is; it is never refreshed.
    case accessToken(String)
    /// A service account (`credentials_file:`): access tokens fetched from its token endpoint.
    case serviceAccount(GoogleServiceAccount)
}

/// The access token a Vertex AI provider sends, fetched from the service account's token
/// endpoint with a signed JWT, kept until shortly before it expires, then refreshed.
///
/// One refresh is in flight at a time: every call that needs a token while one is being
/// fetched awaits that same fetch, so a burst of calls on a cold or expiring token makes one
/// token request, never one per call. Expiry decisions read the injected clock.
public actor VertexTokenSource {
    struct Token: Sendable {
        var value: String
        /// From then on, a call refreshes first (and keeps this token should the refresh fail).
        var refreshAt: Date
        /// Google stops accepting it then.
        var expiresAt: Date
    }

    /// How long before expiry a token is refreshed (at most half its lifetime).
    public static let refreshMargin: TimeInterval = 300

    let credentials: VertexCredentials
    let clients: HTTPClients
    let clock: any WallClock
    let timeout: TimeAmount
    private var current: Token?
    private var refreshing: Task<Result<Token, ProviderError>, Never>?

    /// A source for `credentials`, fetching through `clients` and deciding expiry by `clock`.
    public init(credentials: VertexCredentials, clients: HTTPClients, clock: any WallClock, timeout: TimeAmount = .seconds(30)) {
        self.credentials = credentials
        self.clients = clients
        self.clock = clock
        self.timeout = timeout
    }

    /// The token to send now: the cached one while it is fresh, else the result of the one refresh in flight.
    public func token() async throws(ProviderError) -> String {
        guard case .serviceAccount(let account) = credentials else {
            if case .accessToken(let fixed) = credentials { return fixed }
            throw ProviderError(.http, status: 401, message: "no Vertex AI credentials")
        }
        let now = clock.now()
        if let current, now < current.refreshAt { return current.value }
        let task: Task<Result<Token, ProviderError>, Never>
        if let refreshing {
            task = refreshing
        } else {
            let clients = clients, clock = clock, timeout = timeout
            task = Task { await Self.fetch(account, clients: clients, clock: clock, timeout: timeout) }
            refreshing = task
        }
        let result = await task.value
        if refreshing == task { refreshing = nil }
        switch result {
        case .success(let token):
            if current.map({ $0.expiresAt < token.expiresAt }) ?? true { current = token }
            return token.value
        case .failure(let error):
            // A token that has not expired yet still serves while the endpoint is down.
            if let current, clock.now() < current.expiresAt { return current.value }
            throw error
        }
    }

    /// Forgets `token` (the upstream refused it), so that the next call fetches a new one.
    public func invalidate(_ token: String) {
        if current?.value == token { current = nil }
    }

    /// Exchanges a fresh assertion for an access token.
    static func fetch(
        _ account: GoogleServiceAccount, clients: HTTPClients, clock: any WallClock, timeout: TimeAmount
    ) async -> Result<Token, ProviderError> {
        let issued = clock.now()
        let assertion: String
        do {
            assertion = try account.assertion(at: issued)
        } catch {
            return .failure(ProviderError(.http, status: 401, message: "Vertex AI: \(error.description)"))
        }
        var req = HTTPClientRequest(url: account.tokenURI)
        req.method = .POST
        req.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        req.headers.add(name: "accept", value: "application/json")
        let form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion
        req.body = .bytes(ByteBuffer(string: form))
        let response: HTTPClientResponse
        let bytes: [UInt8]
        do {
            response = try await clients.client(for: nil).execute(req, timeout: timeout)
            bytes = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        } catch {
            var e = OpenAIProvider.mapTransportError(error)
            e.message = "Vertex AI token endpoint \(account.tokenURI): \(e.message)"
            return .failure(e)
        }
        return parse(status: Int(response.status.code), body: bytes, headers: response.headers, account: account, issued: issued)
    }

    /// The token in a token endpoint's answer, or the error it means: a refused grant
    /// (400/401/403) goes to the next target without retrying; 429 and 5xx are retried.
    static func parse(
        status: Int, body: [UInt8], headers: HTTPHeaders, account: GoogleServiceAccount, issued: Date
    ) -> Result<Token, ProviderError> {
        let json = (try? JSON.parse(body))?.objectValue
        guard (200..<300).contains(status) else {
            let code = json?["error"]?.stringValue ?? json?["error"]?["status"]?.stringValue
            let detail = json?["error_description"]?.stringValue ?? json?["error"]?["message"]?.stringValue
            let said = [code, detail].compactMap { $0 }.joined(separator: ": ")
            let text = "Google's token endpoint \(account.tokenURI) answered HTTP \(status)" + (said.isEmpty ? "" : " (\(said))")
            if status == 429 || status >= 500 {
                let retryAfter = headers.first(name: "retry-after").flatMap { RetryAfter.seconds($0) }
                return .failure(ProviderError(.http, status: status == 429 ? 429 : 503, message: text, retryAfterSeconds: retryAfter))
            }
            return .failure(
                ProviderError(
                    .http, status: 401,
                    message: text + ": the service account \(account.clientEmail) was refused; check that credentials_file holds a "
                        + "current key of an enabled service account (a key deleted in the console stops working) and that this "
                        + "machine's clock is right"))
        }
        guard let token = json?["access_token"]?.stringValue, !token.isEmpty else {
            return .failure(
                ProviderError(.invalidResponse, status: status, message: "Google's token endpoint \(account.tokenURI) answered without an access_token"))
        }
        let lifetime = max(1, json?["expires_in"]?.doubleValue ?? json?["expires_in"]?.intValue.map(Double.init) ?? 3600)
        let margin = min(refreshMargin, lifetime / 2)
        return .success(
            Token(
                value: token, refreshAt: issued.addingTimeInterval(lifetime - margin),
                expiresAt: issued.addingTimeInterval(lifetime)))
    }
}
