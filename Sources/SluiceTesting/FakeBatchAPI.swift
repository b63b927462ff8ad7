import Foundation
import SluiceCore
import Synchronization

/// OpenAI's Batch API (`/files`, `/batches`) and Anthropic's Message Batches API
/// (`/messages/batches`) in memory, for ``FakeUpstream``. A batch ends on its
/// `pollsToComplete`-th status request (1 by default); each request is answered
/// like a direct call with the upstream's default reply, unless scripted to fail.
///
/// ```swift
/// upstream.batches.failRequest("task_0193…", message: "bad input")
/// upstream.batches.setFate(.expire)
/// #expect(upstream.batches.created.first?.requests.count == 3)
/// ```
public final class FakeBatchAPI: Sendable {
    /// Which API a batch came through.
    public enum API: String, Sendable { case openAI = "openai", anthropic }

    /// How batches end.
    public enum Fate: Sendable, Equatable {
        /// Every request is answered (or fails as scripted with ``FakeBatchAPI/failRequest(_:message:)``).
        case complete
        /// The whole batch fails (OpenAI `failed` with this message; Anthropic: every request errors with it).
        case fail(String)
        /// The batch expires before any request runs.
        case expire
    }

    /// One batch as received.
    public struct Batch: Sendable {
        /// The provider's id (`batch_…` or `msgbatch_…`).
        public var id: String
        /// The API it came through.
        public var api: API
        /// The requests as sent: JSONL lines (OpenAI) or `requests` entries (Anthropic).
        public var requests: [JSONObject]
        /// Status requests so far.
        public var polls = 0
        /// The custom ids, in order.
        public var customIDs: [String] { requests.compactMap { $0["custom_id"]?.stringValue } }
    }

    struct State {
        var files: [String: [UInt8]] = [:]
        var batches: [String: Batch] = [:]
        var order: [String] = []
        var pollsToComplete = 1
        var failing: [String: String] = [:]
        var fate: Fate = .complete
        var next = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Batches ending from now on end on their `n`-th status request (at least 1).
    public func setPollsToComplete(_ n: Int) { state.withLock { $0.pollsToComplete = max(1, n) } }

    /// The request with this `custom_id` fails with `message` when its batch ends.
    public func failRequest(_ customID: String, message: String = "scripted batch error") {
        state.withLock { $0.failing[customID] = message }
    }

    /// How batches that end from now on end.
    public func setFate(_ fate: Fate) { state.withLock { $0.fate = fate } }

    /// Every batch created, oldest first.
    public var created: [Batch] { state.withLock { s in s.order.compactMap { s.batches[$0] } } }

    /// Answers a batch API request, or `nil` when `path` is not one. `reply` shapes the answers.
    func handle(method: String, path: String, headers: [String: String], body: [UInt8], baseURL: String, reply: FakeUpstream.Reply)
        -> (status: Int, body: [UInt8])?
    {
        let parts = path.split(separator: "/").map(String.init)  // ["v1", "batches", id]…
        guard parts.first == "v1" else { return nil }
        let rest = Array(parts.dropFirst())
        switch (method, rest.count, rest.first) {
        case ("POST", 1, "files"): return uploadFile(body, contentType: headers["content-type"] ?? "")
        case ("GET", 3, "files") where rest[2] == "content":
            return state.withLock { $0.files[rest[1]] }.map { (200, $0) } ?? Self.notFound("file \(rest[1])")
        case ("POST", 1, "batches"): return createOpenAI(body)
        case ("GET", 2, "batches"): return pollOpenAI(rest[1], reply: reply)
        case ("POST", 2, "messages") where rest[1] == "batches": return createAnthropic(body)
        case ("GET", 3, "messages") where rest[1] == "batches": return pollAnthropic(rest[2], baseURL: baseURL, reply: reply)
        case ("GET", 4, "messages") where rest[1] == "batches" && rest[3] == "results":
            return state.withLock { $0.files["results-" + rest[2]] }.map { (200, $0) } ?? Self.notFound("results of \(rest[2])")
        default: return nil
        }
    }

    static func notFound(_ what: String) -> (Int, [UInt8]) {
        (404, JSON.object(["error": ["message": .string("no \(what)"), "type": "not_found_error"]]).serialized())
    }

    func newID(_ prefix: String) -> String {
        state.withLock { s in
            s.next += 1
            return "\(prefix)\(s.next)"
        }
    }

    /// `POST /v1/files`: keeps the multipart part named `file`.
    func uploadFile(_ body: [UInt8], contentType: String) -> (Int, [UInt8]) {
        guard let range = contentType.range(of: "boundary=") else { return (400, Array(#"{"error":{"message":"not multipart"}}"#.utf8)) }
        let boundary = "--" + contentType[range.upperBound...].trimmingCharacters(in: .init(charactersIn: "\""))
        let text = String(decoding: body, as: UTF8.self)
        var content: String?
        for part in text.components(separatedBy: boundary) {
            guard let split = part.range(of: "\r\n\r\n"), part[..<split.lowerBound].contains("name=\"file\"") else { continue }
            var c = String(part[split.upperBound...])
            if c.hasSuffix("\r\n") { c.removeLast() }
            content = c
        }
        guard let content else { return (400, Array(#"{"error":{"message":"no file part"}}"#.utf8)) }
        let id = newID("file-")
        state.withLock { $0.files[id] = Array(content.utf8) }
        return (200, JSON.object(["id": .string(id), "object": "file", "purpose": "batch", "bytes": .int(content.utf8.count)]).serialized())
    }

    func createOpenAI(_ body: [UInt8]) -> (Int, [UInt8]) {
        guard let req = (try? JSON.parse(body))?.objectValue, let fileID = req["input_file_id"]?.stringValue,
            let file = state.withLock({ $0.files[fileID] })
        else { return (400, Array(#"{"error":{"message":"no input_file_id"}}"#.utf8)) }
        let lines = file.split(separator: 0x0A).compactMap { (try? JSON.parse(Array($0)))?.objectValue }
        let id = newID("batch_")
        state.withLock {
            $0.batches[id] = Batch(id: id, api: .openAI, requests: lines)
            $0.order.append(id)
        }
        return (200, Self.openAIObject(id: id, status: "validating", output: nil, errorFile: nil, fate: nil))
    }

    static func openAIObject(id: String, status: String, output: String?, errorFile: String?, fate: Fate?) -> [UInt8] {
        var errors: JSON = .null
        if case .fail(let message) = fate {
            errors = ["object": "list", "data": [["code": "invalid_request", "message": .string(message), "param": nil, "line": nil]]]
        }
        return JSON.object([
            "id": .string(id), "object": "batch", "endpoint": "/v1/chat/completions", "errors": errors, "input_file_id": "file-in",
            "completion_window": "24h", "status": .string(status), "output_file_id": output.map(JSON.string) ?? .null,
            "error_file_id": errorFile.map(JSON.string) ?? .null, "created_at": 1_700_000_000,
        ]).serialized()
    }

    /// Counts a status request; returns the batch when this one ends it, with the fate and failing ids.
    func tick(_ id: String) -> (Batch, ended: Bool, Fate, [String: String])? {
        state.withLock { s in
            guard var b = s.batches[id] else { return nil }
            b.polls += 1
            s.batches[id] = b
            return (b, b.polls >= s.pollsToComplete, s.fate, s.failing)
        }
    }

    func pollOpenAI(_ id: String, reply: FakeUpstream.Reply) -> (Int, [UInt8]) {
        guard let (batch, ended, fate, failing) = tick(id) else { return Self.notFound("batch \(id)") }
        guard ended else { return (200, Self.openAIObject(id: id, status: "in_progress", output: nil, errorFile: nil, fate: nil)) }
        if case .fail = fate { return (200, Self.openAIObject(id: id, status: "failed", output: nil, errorFile: nil, fate: fate)) }
        var output: [UInt8] = []
        var errors: [UInt8] = []
        for (i, line) in batch.requests.enumerated() {
            let custom = line["custom_id"]?.stringValue ?? ""
            var out: JSONObject = ["id": .string("batch_req_\(i)"), "custom_id": .string(custom), "error": nil]
            if fate == .expire {
                out["response"] = .null
                out["error"] = ["code": "batch_expired", "message": "This request could not be executed before the completion window expired."]
                JSON.object(out).write(to: &errors)
                errors.append(0x0A)
            } else if let message = failing[custom] {
                out["response"] = [
                    "status_code": 400, "request_id": .string("req_\(i)"),
                    "body": ["error": ["message": .string(message), "type": "invalid_request_error", "param": nil, "code": nil]],
                ]
                JSON.object(out).write(to: &errors)
                errors.append(0x0A)
            } else {
                let request = line["body"]?.objectValue ?? [:]
                let answer = (try? JSON.parse(FakeAnswer(request: request, reply: reply).completion())) ?? .null
                out["response"] = ["status_code": 200, "request_id": .string("req_\(i)"), "body": answer]
                JSON.object(out).write(to: &output)
                output.append(0x0A)
            }
        }
        let outID = output.isEmpty ? nil : "file-out-\(id)"
        let errID = errors.isEmpty ? nil : "file-err-\(id)"
        state.withLock { s in
            if let outID { s.files[outID] = output }
            if let errID { s.files[errID] = errors }
        }
        return (200, Self.openAIObject(id: id, status: fate == .expire ? "expired" : "completed", output: outID, errorFile: errID, fate: nil))
    }

    func createAnthropic(_ body: [UInt8]) -> (Int, [UInt8]) {
        guard let requests = (try? JSON.parse(body))?["requests"]?.arrayValue else {
            return (400, Array(#"{"type":"error","error":{"type":"invalid_request_error","message":"requests: Field required"}}"#.utf8))
        }
        let id = newID("msgbatch_")
        state.withLock {
            $0.batches[id] = Batch(id: id, api: .anthropic, requests: requests.compactMap(\.objectValue))
            $0.order.append(id)
        }
        return (200, Self.anthropicObject(id: id, status: "in_progress", resultsURL: nil))
    }

    static func anthropicObject(id: String, status: String, resultsURL: String?) -> [UInt8] {
        JSON.object([
            "id": .string(id), "type": "message_batch", "processing_status": .string(status),
            "request_counts": ["processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0],
            "ended_at": nil, "created_at": "2026-11-23T10:00:00Z", "expires_at": "2026-11-24T10:00:00Z",
            "cancel_initiated_at": nil, "results_url": resultsURL.map(JSON.string) ?? .null,
        ]).serialized()
    }

    func pollAnthropic(_ id: String, baseURL: String, reply: FakeUpstream.Reply) -> (Int, [UInt8]) {
        guard let (batch, ended, fate, failing) = tick(id) else { return Self.notFound("message batch \(id)") }
        guard ended else { return (200, Self.anthropicObject(id: id, status: "in_progress", resultsURL: nil)) }
        var results: [UInt8] = []
        for entry in batch.requests {
            let custom = entry["custom_id"]?.stringValue ?? ""
            let result: JSON
            switch fate {
            case .expire: result = ["type": "expired"]
            case .fail(let message):
                result = ["type": "errored", "error": ["type": "error", "error": ["type": "api_error", "message": .string(message)]]]
            case .complete:
                if let message = failing[custom] {
                    result = ["type": "errored", "error": ["type": "error", "error": ["type": "invalid_request_error", "message": .string(message)]]]
                } else {
                    let params = entry["params"]?.objectValue ?? [:]
                    result = ["type": "succeeded", "message": (try? JSON.parse(FakeAnthropicAnswer(request: params, reply: reply).message())) ?? .null]
                }
            }
            JSON.object(["custom_id": .string(custom), "result": result]).write(to: &results)
            results.append(0x0A)
        }
        state.withLock { $0.files["results-" + id] = results }
        return (200, Self.anthropicObject(id: id, status: "ended", resultsURL: baseURL + "/messages/batches/\(id)/results"))
    }
}
