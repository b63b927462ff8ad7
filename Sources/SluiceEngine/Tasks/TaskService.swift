import Foundation
import SluiceCore
import SluiceStore

/// `POST /v1/tasks` and friends: a task is a row before any work, and the
/// workers (``TaskWorkers``) and the sweeper (``TaskSweeper``) bring every row to an end.
public struct TaskService: Sendable {
    let store: any SluiceStore
    let config: SluiceConfig
    /// The live purposes (a reload may add one).
    let live: LiveConfig
    let clock: any WallClock
    let webhooks: TaskWebhooks
    let wake: @Sendable () -> Void
    /// Checks the request as a synchronous call would be before the row is written; `nil` skips it.
    var preflight: TaskPreflight? = nil

    static let fields: Set<String> = ["purpose", "variables", "request", "idempotency_key", "webhook_url", "user", "run_id", "metadata"]

    /// Validates a create body and writes the task; returns it and whether it was new
    /// (an idempotent repeat returns the existing task; another body under the same key is a 409).
    public func create(body: [UInt8], identity: Identity) async throws -> (TaskRecord, created: Bool) {
        guard var obj = (try? JSON.parse(body))?.objectValue else {
            throw SluiceError.invalidRequest(#"The body must be a JSON object such as {"purpose": "triage", "variables": {…}}."#)
        }
        for key in obj.keys where !Self.fields.contains(key) {
            throw SluiceError.invalidRequest("Unknown field '\(key)'; a task takes \(Self.fields.sorted().joined(separator: ", ")).", param: key)
        }
        guard let purpose = obj["purpose"]?.stringValue, CallContext.isValidPurpose(purpose) else {
            throw SluiceError.invalidRequest("'purpose' is required: the purpose the task runs under.", param: "purpose")
        }
        guard identity.allows(purpose: purpose) else {
            throw SluiceError(.forbidden, "Key '\(identity.keyName ?? "")' may not use purpose '\(purpose)'.", param: "purpose")
        }
        let purposes = live.config.purposes
        if !purposes.isEmpty, purpose != "default", purposes[purpose] == nil {
            throw SluiceError.invalidRequest(
                "Unknown purpose '\(purpose)'; configured purposes: \(purposes.keys.sorted().joined(separator: ", ")).", param: "purpose")
        }
        let hasVariables = obj["variables"] != nil
        let hasRequest = obj["request"] != nil
        guard hasVariables != hasRequest else {
            throw SluiceError.invalidRequest("Give exactly one of 'variables' (runs the purpose's prompt) or 'request' (a chat request).", param: "variables")
        }
        if hasVariables {
            guard obj["variables"]?.objectValue != nil else { throw SluiceError.invalidRequest("'variables' must be an object.", param: "variables") }
            guard purposes[purpose]?.prompt != nil else {
                throw SluiceError.invalidRequest("Purpose '\(purpose)' has no prompt to run with variables; send a chat 'request' instead.", param: "purpose")
            }
            try preflight?.check(
                variables: obj["variables"]?.objectValue ?? [:], purpose: purpose,
                attribution: Attribution(purpose: purpose, user: obj["user"]?.stringValue))
        } else {
            guard var request = obj["request"]?.objectValue else {
                throw SluiceError.invalidRequest("'request' must be a chat completion request object.", param: "request")
            }
            // A purpose with a model lets the request omit `model`; the stored request names it.
            if let preflight { request = try preflight.check(request: request, purpose: purpose) }
            obj["request"] = .object(request)
            let chat = try ChatRequest(body: .object(request))
            if let p = config.purposes[purpose], p.mode == .batch, let model = p.model, chat.model != model {
                throw SluiceError.invalidRequest(
                    "Purpose '\(purpose)' runs its tasks in batch mode on model '\(model)'; the request names '\(chat.model)'. "
                        + "Name '\(model)', or send the request as a sync call.", param: "request.model")
            }
        }
        var key: String?
        if let k = obj["idempotency_key"], !k.isNull {
            guard let s = k.stringValue, !s.isEmpty, s.count <= 255 else {
                throw SluiceError.invalidRequest("'idempotency_key' must be a string of 1 to 255 characters.", param: "idempotency_key")
            }
            key = s
        }
        var webhook: String?
        if let w = obj["webhook_url"], !w.isNull {
            guard let s = w.stringValue, s.hasPrefix("http://") || s.hasPrefix("https://"), URL(string: s) != nil else {
                throw SluiceError.invalidRequest("'webhook_url' must be an http(s) URL.", param: "webhook_url")
            }
            webhook = s
        }
        var hashed = obj
        hashed.removeValue(forKey: "idempotency_key")
        let now = clock.now()
        let task = TaskRecord(
            id: IDs.make("task", at: now), purpose: purpose, idempotencyKey: key,
            requestHash: Hashing.sha256Hex(JSON.object(hashed).canonicalBytes), request: JSON.object(obj).jsonString,
            keyName: identity.keyName, webhookURL: webhook, maxAttempts: config.tasks.maxAttempts, createdAt: now)
        switch try await store.createTask(task) {
        case .created(let t):
            wake()
            return (t, true)
        case .existing(let t):
            return (t, false)
        case .conflict(let t):
            throw SluiceError(
                .idempotencyConflict,
                "Idempotency key '\(key ?? "")' was used for task \(t.id) with a different body; use a new key for a new task.",
                param: "idempotency_key")
        }
    }

    /// A task the caller may see (its own key's, or any for the admin).
    public func get(_ id: String, identity: Identity) async throws -> TaskRecord {
        guard let t = try await store.task(id), identity.isAdmin || t.keyName == identity.keyName else {
            throw SluiceError(.notFound, "No task with id '\(id)'.")
        }
        return t
    }

    /// Puts a failed, cancelled or reviewed task back in the queue; a queued or running task is a 409.
    public func retry(_ id: String, identity: Identity) async throws -> TaskRecord {
        let t = try await get(id, identity: identity)
        guard t.status == .failed || t.status == .cancelled || t.status == .needsReview else {
            throw SluiceError(.idempotencyConflict, "Task \(id) is \(t.status.rawValue); only failed, cancelled or needs_review tasks can be retried.")
        }
        guard let after = try await store.retryTask(id, now: clock.now()) else { throw SluiceError(.notFound, "No task with id '\(id)'.") }
        wake()
        return after
    }

    /// Cancels a queued task; a task already running or over is a 409.
    public func cancel(_ id: String, identity: Identity) async throws -> TaskRecord {
        let before = try await get(id, identity: identity)
        guard before.status == .queued, let after = try await store.cancelTask(id, now: clock.now()), after.status == .cancelled else {
            let after = try await store.task(id) ?? before
            throw SluiceError(.idempotencyConflict, "Task \(id) is \(after.status.rawValue); only queued tasks can be cancelled.")
        }
        webhooks.send(after)
        return after
    }

    /// The task as SPEC's JSON, with its webhook delivery attempts as `webhook_deliveries`
    /// (`attempt`, `at`, `status` — `null` when no answer came — and `error` — `null` on a 2xx).
    public static func json(_ t: TaskRecord, deliveries: [WebhookAttempt]) -> JSON {
        guard case .object(var o) = json(t) else { return json(t) }
        o["webhook_deliveries"] = .array(
            deliveries.map { d in
                [
                    "attempt": .int(d.attempt), "at": .string(Timestamp.iso8601(d.at)), "status": d.status.map { .int($0) } ?? .null,
                    "error": d.error.map(JSON.string) ?? .null,
                ]
            })
        return .object(o)
    }

    /// The task as SPEC's JSON (the webhook body).
    public static func json(_ t: TaskRecord) -> JSON {
        func s(_ v: String?) -> JSON { v.map(JSON.string) ?? .null }
        func d(_ v: Date?) -> JSON { v.map { .string(Timestamp.iso8601($0)) } ?? .null }
        return [
            "id": .string(t.id), "object": "task", "purpose": .string(t.purpose), "status": .string(t.status.rawValue),
            "attempt_count": .int(t.attemptCount), "max_attempts": .int(t.maxAttempts), "idempotency_key": s(t.idempotencyKey),
            "created_at": d(t.createdAt), "started_at": d(t.startedAt), "finished_at": d(t.finishedAt), "heartbeat_at": d(t.heartbeatAt),
            "error_message": s(t.errorMessage), "result": t.result.map { (try? JSON.parse($0)) ?? .string($0) } ?? .null,
            "call_ids": .array(t.callIDs.map(JSON.string)), "webhook_url": s(t.webhookURL),
        ]
    }
}
