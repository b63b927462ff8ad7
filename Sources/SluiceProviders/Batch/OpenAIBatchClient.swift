import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore

/// OpenAI's Batch API: the requests are uploaded as a JSONL file (`POST /files`, purpose `batch`),
/// a batch is created over it (`POST /batches`, 24 h window), polled (`GET /batches/{id}`) and,
/// once it ends, its output and error files are read (`GET /files/{id}/content`).
public struct OpenAIBatchClient: BatchClient {
    let settings: OpenAIProvider.Settings
    let clients: HTTPClients

    /// Statuses after which nothing more will run.
    static let ended: Set<String> = ["completed", "expired", "cancelled"]

    /// A client for the provider reached with `settings`.
    public init(settings: OpenAIProvider.Settings, clients: HTTPClients) {
        self.settings = settings
        self.clients = clients
    }

    /// `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`.
    public func entry(for request: BatchRequest) throws(ProviderError) -> JSON {
        var body = OpenAIProvider.withoutCacheControl(request.body)
        body.removeValue(forKey: "stream")
        body.removeValue(forKey: "stream_options")
        return [
            "custom_id": .string(request.customID), "method": "POST", "url": "/v1/chat/completions", "body": .object(body),
        ]
    }

    var headers: [(String, String)] {
        var h: [(String, String)] = []
        if let key = settings.apiKey { h.append(("authorization", "Bearer \(key)")) }
        return h + settings.headers
    }

    func send(_ method: HTTPMethod, _ path: String, contentType: String? = nil, body: [UInt8]? = nil) async throws(ProviderError) -> [UInt8] {
        var h = headers
        if let contentType { h.append(("content-type", contentType)) }
        return try await BatchHTTP.send(
            method, settings.baseURL + path, headers: h, body: body, clients: clients, timeout: settings.timeout, secret: settings.apiKey)
    }

    /// Uploads the entries as a file and creates the batch over it.
    public func submit(_ entries: [JSON]) async throws(ProviderError) -> String {
        let boundary = "sluice-\(UInt64.random(in: .min ... .max))"
        var form: [UInt8] = []
        form += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n".utf8)
        form += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sluice-batch.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n"
                .utf8)
        form += BatchHTTP.jsonl(entries)
        form += Array("\r\n--\(boundary)--\r\n".utf8)
        let file = try BatchHTTP.object(
            try await send(.POST, "/files", contentType: "multipart/form-data; boundary=\(boundary)", body: form), "a file object")
        guard let fileID = file["id"]?.stringValue else { throw ProviderError(.invalidResponse, message: "the uploaded file has no id") }
        let create: JSON = ["input_file_id": .string(fileID), "endpoint": "/v1/chat/completions", "completion_window": "24h"]
        let batch = try BatchHTTP.object(
            try await send(.POST, "/batches", contentType: "application/json", body: create.serialized()), "a batch object")
        guard let id = batch["id"]?.stringValue else { throw ProviderError(.invalidResponse, message: "the created batch has no id") }
        return id
    }

    /// The batch's status; once completed, expired or cancelled, its output and error files.
    public func poll(_ upstreamID: String) async throws(ProviderError) -> BatchState {
        let id = upstreamID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? upstreamID
        let batch = try BatchHTTP.object(try await send(.GET, "/batches/\(id)"), "a batch object")
        let status = batch["status"]?.stringValue ?? "unknown"
        if status == "failed" {
            let errors = (batch["errors"]?["data"]?.arrayValue ?? []).compactMap { e -> String? in
                guard let m = e["message"]?.stringValue else { return nil }
                return e["line"]?.intValue.map { "line \($0): \(m)" } ?? m
            }
            return .failed("the batch failed upstream: " + (errors.isEmpty ? "no reason given" : errors.prefix(5).joined(separator: "; ")))
        }
        guard Self.ended.contains(status) else { return .running(status) }
        var results: [String: BatchOutcome] = [:]
        for key in ["output_file_id", "error_file_id"] {
            guard let file = batch[key]?.stringValue, !file.isEmpty else { continue }
            for line in BatchHTTP.lines(try await send(.GET, "/files/\(file)/content")) {
                guard let custom = line["custom_id"]?.stringValue else { continue }
                results[custom] = Self.outcome(line)
            }
        }
        let missing =
            status == "completed"
            ? "the batch completed without a result for this request"
            : "the batch was \(status) before this request ran"
        if results.isEmpty, status != "completed" { return .failed("the batch was \(status) upstream before any request ran") }
        return .ended(results: results, missing: missing)
    }

    /// One line of an output or error file.
    static func outcome(_ line: JSONObject) -> BatchOutcome {
        let response = line["response"]
        let status = response?["status_code"]?.intValue
        if let body = response?["body"]?.objectValue, let status, (200..<300).contains(status) {
            guard body["choices"] != nil else {
                return .error(ProviderError(.invalidResponse, status: status, message: "the batch answer is not a chat completion"))
            }
            return .answer(UpstreamResponse(body: JSON.object(body).serialized(), json: body, status: status))
        }
        let message =
            response?["body"]?["error"]?["message"]?.stringValue ?? line["error"]?["message"]?.stringValue
            ?? "the request failed in the batch"
        let code = line["error"]?["code"]?.stringValue
        return .error(ProviderError(.http, status: status, message: code.map { "\($0): \(message)" } ?? message))
    }
}

extension OpenAIProvider: BatchCapable {
    /// OpenAI's Batch API; `nil` for Azure deployments (their batches need a global-batch deployment).
    public var batchClient: (any BatchClient)? {
        settings.dialect == .openAI ? OpenAIBatchClient(settings: settings, clients: clients) : nil
    }
}
