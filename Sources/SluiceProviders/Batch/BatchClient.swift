import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore

/// One request of an upstream batch: its id and the chat body in OpenAI shape
/// (`model` already the upstream model id, not streamed).
public struct BatchRequest: Sendable {
    /// The request's id within the batch (`custom_id`); Sluice uses the task id.
    public var customID: String
    /// The chat completion body.
    public var body: JSONObject

    /// A request; see the properties.
    public init(customID: String, body: JSONObject) {
        self.customID = customID
        self.body = body
    }
}

/// What one request of an ended batch came to.
public enum BatchOutcome: Sendable {
    /// The answer, as a `chat.completion`.
    case answer(UpstreamResponse)
    /// The request failed upstream (refused, errored, expired or cancelled).
    case error(ProviderError)
}

/// Where an upstream batch is.
public enum BatchState: Sendable {
    /// Still running; the provider's own status.
    case running(String)
    /// It ended: the outcome of each request by `custom_id`. A request without one failed with `missing`.
    case ended(results: [String: BatchOutcome], missing: String)
    /// The whole batch failed (it was refused, or ended without running anything); the reason.
    case failed(String)
}

/// A provider's batch API: requests go in as one upstream batch at batch prices, are polled
/// until the batch ends, and come back translated to OpenAI chat completions.
public protocol BatchClient: Sendable {
    /// The provider's entry for one request; throws (HTTP 400) when the request cannot be sent to this provider.
    func entry(for request: BatchRequest) throws(ProviderError) -> JSON
    /// Creates the upstream batch from entries made by ``entry(for:)``; returns the provider's batch id.
    func submit(_ entries: [JSON]) async throws(ProviderError) -> String
    /// Asks where the batch is; once it has ended, downloads and translates its results.
    func poll(_ upstreamID: String) async throws(ProviderError) -> BatchState
}

/// A provider that can send work through a batch API.
public protocol BatchCapable: Sendable {
    /// The provider's batch client; `nil` when its API has none.
    var batchClient: (any BatchClient)? { get }
}

/// The HTTP exchanges batch clients make, through ``UpstreamHTTP``.
enum BatchHTTP {
    /// Sends a request; a non-2xx or transport failure throws, `secret` is scrubbed from messages.
    static func send(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]?, clients: HTTPClients, timeout: TimeAmount,
        secret: String?
    ) async throws(ProviderError) -> [UInt8] {
        var req = UpstreamCall(url: url)
        req.method = method
        for (k, v) in headers { req.headers.add(name: k, value: v) }
        if let body { req.body = ByteBuffer(bytes: body) }
        let response = try await UpstreamHTTP.send(req, clients: clients, loop: nil, timeout: timeout, secret: secret)
        return try await UpstreamHTTP.body(of: response)
    }

    /// A JSON object answer, or an `invalid_response` naming what was expected.
    static func object(_ bytes: [UInt8], _ what: String) throws(ProviderError) -> JSONObject {
        guard let obj = (try? JSON.parse(bytes))?.objectValue else {
            throw ProviderError(.invalidResponse, message: "upstream answered with a body that is not \(what)")
        }
        return obj
    }

    /// The JSON objects of a JSONL body; blank and unparseable lines are skipped.
    static func lines(_ bytes: [UInt8]) -> [JSONObject] {
        bytes.split(separator: 0x0A).compactMap { line in
            let trimmed = line.filter { $0 != 0x0D }
            return trimmed.isEmpty ? nil : (try? JSON.parse(Array(trimmed)))?.objectValue
        }
    }

    /// Entries as JSONL: one JSON object per line.
    static func jsonl(_ entries: [JSON]) -> [UInt8] {
        var out: [UInt8] = []
        for e in entries {
            e.write(to: &out)
            out.append(0x0A)
        }
        return out
    }
}
