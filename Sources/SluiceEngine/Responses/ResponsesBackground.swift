import Foundation
import Logging
import SluiceCore
import SluiceProviders
import SluiceStore

/// Background responses (`background: true`): the turn is stored `queued` and run as a
/// durable task, with every guarantee tasks have (the sweeper, retries, surviving a
/// `kill -9` of the node). `GET /v1/responses/{id}` shows `queued`, `in_progress`,
/// `completed`, `failed` or `cancelled`.
public struct ResponsesBackground: Sendable {
    let tasks: any TaskStore
    let responses: any ResponseStore
    let maxAttempts: Int
    let clock: any WallClock
    let wake: @Sendable () -> Void

    /// Stores the turn `queued`, queues its task and returns the response as it stands.
    func enqueue(_ turn: Turn, attribution: Attribution, identity: Identity) async throws -> JSON {
        guard turn.request.store else {
            throw SluiceError.invalidRequest(
                "A background response must be stored (store: true): it is fetched later with GET /v1/responses/{id}.", param: "store")
        }
        let queued = ResponsesCodec.responseObject(
            id: turn.id, createdAt: Int(turn.createdAt.timeIntervalSince1970), model: turn.request.model, request: turn.request,
            status: "queued", output: [])
        let taskID = IDs.make("task", at: turn.createdAt)
        var row = StoredResponse(
            id: turn.id, scope: turn.scope, status: .queued, model: turn.request.model,
            previousResponseID: turn.request.previousResponseID, store: true, request: JSON.object(turn.request.body).jsonString,
            inputItems: JSON.array(turn.input).jsonString, outputItems: "[]", response: JSON.object(queued).jsonString,
            taskID: taskID, createdAt: turn.createdAt)
        row.expiresAt = nil
        let payload: JSON = [
            "responses": [
                "response_id": .string(turn.id),
                "purpose": attribution.purpose.map(JSON.string) ?? .null, "user": attribution.user.map(JSON.string) ?? .null,
                "run_id": attribution.runID.map(JSON.string) ?? .null,
            ]
        ]
        let task = TaskRecord(
            id: taskID, purpose: attribution.purpose ?? "default", idempotencyKey: nil,
            requestHash: Hashing.sha256Hex(Array(turn.id.utf8)), request: payload.jsonString, keyName: identity.keyName,
            webhookURL: nil, maxAttempts: maxAttempts, createdAt: turn.createdAt)
        do {
            try await responses.saveResponse(row)
            _ = try await tasks.createTask(task)
        } catch {
            throw SluiceError(.internalError, "The background response could not be queued: \(error). Retry.")
        }
        wake()
        return .object(queued)
    }
}

extension ResponsesService {
    /// Runs a queued background response for its task: the stored request again (its
    /// conversation rebuilt from the store), whole, with the response's own id. A response
    /// cancelled meanwhile stays cancelled. Returns the task's outcome.
    func runBackground(
        _ payload: JSONObject, identity: Identity
    ) async -> (status: TaskRecord.Status, result: String?, error: String?, callID: String?) {
        guard let id = payload["response_id"]?.stringValue, let row = try? await store.response(id) else {
            return (.failed, nil, "the background response is gone (deleted or expired)", nil)
        }
        if row.status == .cancelled { return (.cancelled, nil, "the response was cancelled", nil) }
        guard let text = row.request, let json = try? JSON.parse(Array(text.utf8)), var request = try? ResponsesRequest(body: json) else {
            return (.failed, nil, "the stored request of \(id) cannot be read", nil)
        }
        _ = try? await store.updateResponseStatus(id, status: .inProgress, error: nil, now: clock.now(), onlyFrom: [.queued, .inProgress])
        request.stream = false
        let turn: Turn
        do {
            turn = try await prepare(request, identity: identity, id: id, createdAt: row.createdAt)
        } catch {
            await fail(row, error.message)
            return (.failed, nil, error.message, nil)
        }
        var a = Attribution(
            purpose: payload["purpose"]?.stringValue, runID: payload["run_id"]?.stringValue, user: payload["user"]?.stringValue)
        a.surface = Surface.responses.rawValue
        let reply = await chat.handle(body: turn.chatBody, attribution: a, identity: identity, native: turn.native)
        switch reply {
        case .json(200, let bytes, let meta):
            var response = turn.response(fromUpstream: bytes)
            response["background"] = true
            // A cancel that came while it ran wins: the row keeps `cancelled`.
            if (try? await store.response(id))?.status == .cancelled { return (.cancelled, nil, "the response was cancelled", meta.callID) }
            await save(turn, response: response, callID: meta.callID, taskID: row.taskID)
            return (.succeeded, JSON.object(response).jsonString, nil, meta.callID)
        case .failure(let e, let meta):
            await fail(row, e.message, callID: meta.callID)
            return (.failed, nil, e.message, meta.callID)
        case .json(let status, _, let meta):
            let message = "the upstream answered with HTTP \(status)"
            await fail(row, message, callID: meta.callID)
            return (.failed, nil, message, meta.callID)
        case .events(_, let meta):
            await fail(row, "a background response cannot stream", callID: meta.callID)
            return (.failed, nil, "a background response cannot stream", meta.callID)
        case .stream(_, let meta):
            await fail(row, "a background response cannot stream", callID: meta.callID)
            return (.failed, nil, "a background response cannot stream", meta.callID)
        }
    }

    /// Marks a background response failed, its stored object included.
    func fail(_ row: StoredResponse, _ message: String, callID: String? = nil) async {
        var r = (try? await store.response(row.id)) ?? row
        guard r.status != .cancelled else { return }
        r.status = .failed
        r.error = message
        r.callID = callID ?? r.callID
        r.updatedAt = clock.now()
        r.expiresAt = clock.now().addingTimeInterval(retention)
        if var obj = r.response.flatMap({ try? JSON.parse(Array($0.utf8)) })?.objectValue {
            obj["status"] = "failed"
            obj["error"] = ["code": "server_error", "message": .string(message)]
            r.response = JSON.object(obj).jsonString
        }
        try? await store.saveResponse(r)
    }
}
