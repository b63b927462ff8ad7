import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore

/// Anthropic's Message Batches API: `POST /messages/batches {requests: [{custom_id, params}]}`,
/// polled with `GET /messages/batches/{id}` until `processing_status` is `ended`, then the JSONL at
/// its `results_url`, each line `succeeded`, `errored`, `canceled` or `expired`.
public struct AnthropicBatchClient: BatchClient {
    let settings: AnthropicProvider.Settings
    let clients: HTTPClients

    /// A client for the provider reached with `settings`.
    public init(settings: AnthropicProvider.Settings, clients: HTTPClients) {
        self.settings = settings
        self.clients = clients
    }

    /// `{"custom_id", "params"}`, the params translated as a direct call's body is.
    public func entry(for request: BatchRequest) throws(ProviderError) -> JSON {
        var body = request.body
        body.removeValue(forKey: "stream")
        body.removeValue(forKey: "stream_options")
        let model = body["model"]?.stringValue ?? ""
        return ["custom_id": .string(request.customID), "params": .object(try AnthropicRequest.translate(body, model: model))]
    }

    func send(_ method: HTTPMethod, url: String, body: [UInt8]? = nil) async throws(ProviderError) -> [UInt8] {
        var h: [(String, String)] = [("anthropic-version", settings.version)]
        if let key = settings.apiKey { h.append(("x-api-key", key)) }
        if body != nil { h.append(("content-type", "application/json")) }
        return try await BatchHTTP.send(
            method, url, headers: h + settings.headers, body: body, clients: clients, timeout: settings.timeout, secret: settings.apiKey)
    }

    /// Creates the batch.
    public func submit(_ entries: [JSON]) async throws(ProviderError) -> String {
        let body: JSON = ["requests": .array(entries)]
        let batch = try BatchHTTP.object(
            try await send(.POST, url: settings.baseURL + "/messages/batches", body: body.serialized()), "a message batch")
        guard let id = batch["id"]?.stringValue else { throw ProviderError(.invalidResponse, message: "the created batch has no id") }
        return id
    }

    /// The batch's processing status; once ended, its results.
    public func poll(_ upstreamID: String) async throws(ProviderError) -> BatchState {
        let id = upstreamID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? upstreamID
        let batch = try BatchHTTP.object(try await send(.GET, url: settings.baseURL + "/messages/batches/\(id)"), "a message batch")
        let status = batch["processing_status"]?.stringValue ?? "unknown"
        guard status == "ended" else { return .running(status) }
        // The results live under the API root; a results_url elsewhere would carry the key off-site.
        let own = settings.baseURL + "/messages/batches/\(id)/results"
        let url = batch["results_url"]?.stringValue.flatMap { $0.hasPrefix(settings.baseURL + "/") ? $0 : nil } ?? own
        var results: [String: BatchOutcome] = [:]
        let created = Int(Date().timeIntervalSince1970)
        for line in BatchHTTP.lines(try await send(.GET, url: url)) {
            guard let custom = line["custom_id"]?.stringValue else { continue }
            results[custom] = Self.outcome(line["result"], created: created)
        }
        return .ended(results: results, missing: "the batch ended without a result for this request")
    }

    /// One result line, its message translated to a chat completion.
    static func outcome(_ result: JSON?, created: Int) -> BatchOutcome {
        switch result?["type"]?.stringValue {
        case "succeeded":
            guard let message = result?["message"]?.objectValue, message["content"] != nil else {
                return .error(ProviderError(.invalidResponse, message: "the batch result is not an Anthropic message"))
            }
            let (completion, usage) = AnthropicResponse.completion(message, created: created)
            return .answer(UpstreamResponse(body: JSON.object(completion).serialized(), json: completion, reportedUsage: usage))
        case "errored":
            let inner = result?["error"]?["error"] ?? result?["error"]
            let type = inner?["type"]?.stringValue
            let message = inner?["message"]?.stringValue ?? "the request errored in the batch"
            return .error(ProviderError(.http, message: type.map { "\($0): \(message)" } ?? message))
        case "canceled":
            return .error(ProviderError(.http, message: "the request was canceled before it ran"))
        case "expired":
            return .error(ProviderError(.timeout, message: "the batch expired (24 h) before this request ran"))
        default:
            return .error(ProviderError(.invalidResponse, message: "the batch result has no known type"))
        }
    }
}

extension AnthropicProvider: BatchCapable {
    /// Anthropic's Message Batches API.
    public var batchClient: (any BatchClient)? { AnthropicBatchClient(settings: settings, clients: clients) }
}
