import Foundation
import Logging
import NIOCore
import SluiceCore
import SluiceProviders
import SluiceStore

/// The OpenAI Responses API (`/v1/responses`) as a surface of the one data plane:
/// a request becomes the neutral chat body every policy reads (and, for providers
/// that serve the Responses API, the client's own request with the whole
/// conversation), runs through ``ChatService/handle(body:attribution:identity:start:eventLoop:prompt:native:)``,
/// and the answer becomes a Responses object. Sluice owns the state: each stored
/// response keeps its input and output items, so `previous_response_id` rebuilds the
/// conversation for any upstream, and a conversation survives a fallback to another
/// provider mid-thread.
public struct ResponsesService: Sendable {
    let chat: ChatService
    let store: any ResponseStore
    let clock: any WallClock
    /// How long a stored response is kept (`responses.retention_days`).
    let retention: TimeInterval
    let logger: Logger
    /// Queues background responses as durable tasks; set by the gateway.
    var background: ResponsesBackground?

    /// The most earlier responses a conversation is rebuilt from.
    static let maxChain = 500

    /// What a create answers.
    public enum Reply: Sendable {
        /// A Responses object (200), or a background one still `queued`.
        case json(JSON, meta: ResponseMeta)
        /// An error, already recorded when it reached the pipeline.
        case failure(SluiceError, meta: ResponseMeta)
        /// A stream of Responses events.
        case stream(ResponsesStream, meta: ResponseMeta)
    }

    /// `POST /v1/responses` from an authenticated caller.
    public func create(
        body: [UInt8], attribution: Attribution, identity: Identity, start: ContinuousClock.Instant = .now,
        eventLoop: (any EventLoop)? = nil
    ) async -> Reply {
        let request: ResponsesRequest
        var turn: Turn
        do {
            request = try Self.parse(body)
            turn = try await prepare(request, identity: identity)
        } catch {
            var a = attribution
            a.surface = Surface.responses.rawValue
            switch await chat.failUnparsed(body: body, error: error, attribution: a, identity: identity, start: start) {
            case .failure(let e, let meta): return .failure(e, meta: meta)
            default: return .failure(SluiceError(.internalError, "\(error)"), meta: ResponseMeta())
            }
        }
        if request.background {
            guard let background else {
                return .failure(SluiceError(.internalError, "Background responses need the task workers."), meta: ResponseMeta())
            }
            do {
                return .json(try await background.enqueue(turn, attribution: attribution, identity: identity), meta: ResponseMeta())
            } catch {
                return .failure(error as? SluiceError ?? SluiceError(.internalError, "\(error)"), meta: ResponseMeta())
            }
        }
        var a = attribution
        a.surface = Surface.responses.rawValue
        let reply = await chat.handle(
            body: turn.chatBody, attribution: a, identity: identity, start: start, eventLoop: eventLoop, native: turn.native)
        switch reply {
        case .json(let status, let bytes, let meta) where status == 200:
            let response = turn.response(fromUpstream: bytes)
            await save(turn, response: response, callID: meta.callID)
            return .json(.object(response), meta: meta)
        case .json(_, let bytes, let meta):
            let e = SluiceError(.upstreamError, "The upstream answered: \(String(decoding: bytes.prefix(500), as: UTF8.self))")
            return .failure(e, meta: meta)
        case .failure(let e, let meta):
            return .failure(e, meta: meta)
        case .events(let bytes, let meta):
            // A whole chat stream (a cached or degraded answer): its chunks become Responses events.
            let stream = ResponsesStream(turn: turn, source: .chatEvents(bytes), service: self, callID: meta.callID)
            return .stream(stream, meta: meta)
        case .stream(let relay, let meta):
            return .stream(ResponsesStream(turn: turn, source: .relay(relay), service: self, callID: meta.callID), meta: meta)
        }
    }

    static func parse(_ body: [UInt8]) throws(SluiceError) -> ResponsesRequest {
        let json: JSON
        do { json = try JSON.parse(body) } catch {
            throw SluiceError.invalidRequest("The request body is not valid JSON: \(error).")
        }
        return try ResponsesRequest(body: json)
    }

    /// The turn: the conversation so far (from the store), this turn's items, the neutral
    /// chat body and the native request. Another key's, or an unknown, previous response is a
    /// `404`; one created with `store: false` cannot be continued (`400`).
    func prepare(
        _ request: ResponsesRequest, identity: Identity, id given: String? = nil, createdAt: Date? = nil
    ) async throws(SluiceError) -> Turn {
        let scope = identity.keyName ?? ""
        var history: [JSON] = []
        if let previous = request.previousResponseID {
            let chain: [StoredResponse]
            do { chain = try await store.responseChain(previous, limit: Self.maxChain) } catch {
                throw SluiceError(.internalError, "The conversation could not be read from the store: \(error). Retry.")
            }
            guard let last = chain.last, last.id == previous, last.scope == scope || identity.isAdmin else {
                throw SluiceError(
                    .notFound, "No response with id '\(previous)' for this key (it may have expired or been deleted).",
                    param: "previous_response_id")
            }
            guard last.store else {
                throw SluiceError.invalidRequest(
                    "Response '\(previous)' was created with store: false, so Sluice kept none of it and it cannot be continued. "
                        + "Send the whole conversation as input, or create responses with store: true.",
                    param: "previous_response_id")
            }
            for r in chain {
                history += Self.items(r.inputItems) + Self.items(r.outputItems)
            }
        }
        let now = createdAt ?? clock.now()
        let id = given ?? IDs.make("resp", at: now)
        let input = ResponsesCodec.normalizedInput(request, responseID: id)
        let converted = ResponsesCodec.chatBody(request, history: history)
        var native = request.native
        native.body["input"] = .array(history + input)
        return Turn(
            id: id, scope: scope, createdAt: now, request: request, input: input, history: history,
            chatBody: JSON.object(converted.body).serialized(), native: native, droppedReasoning: converted.droppedReasoning)
    }

    static func items(_ text: String?) -> [JSON] {
        guard let text, let items = (try? JSON.parse(Array(text.utf8)))?.arrayValue else { return [] }
        return items
    }

    /// Stores the finished turn (a tombstone without bodies for `store: false`).
    func save(_ turn: Turn, response: JSONObject, callID: String?, taskID: String? = nil) async {
        let status = StoredResponse.Status(rawValue: response["status"]?.stringValue ?? "") ?? .completed
        let now = clock.now()
        var row = StoredResponse(
            id: turn.id, scope: turn.scope, status: status, model: turn.request.model,
            previousResponseID: turn.request.previousResponseID, store: turn.request.store, callID: callID, taskID: taskID,
            error: response["error"]?["message"]?.stringValue, createdAt: turn.createdAt, updatedAt: now,
            expiresAt: now.addingTimeInterval(retention))
        if turn.request.store {
            row.request = JSON.object(turn.request.body).jsonString
            row.inputItems = JSON.array(turn.input).jsonString
            row.outputItems = (response["output"] ?? .array([])).jsonString
            row.response = JSON.object(response).jsonString
        }
        do { try await store.saveResponse(row) } catch {
            logger.error("could not store a response", metadata: ["response_id": "\(turn.id)", "error": "\(error)"])
        }
    }
}

/// One turn of a conversation, ready to run.
struct Turn: Sendable {
    let id: String
    let scope: String
    let createdAt: Date
    let request: ResponsesRequest
    /// This turn's input items as stored (with ids).
    let input: [JSON]
    /// The earlier turns' items, oldest first.
    let history: [JSON]
    /// The neutral chat body.
    let chatBody: [UInt8]
    /// The client's request with the whole conversation, for Responses-API upstreams.
    let native: NativeRequest
    /// Reasoning items left out of the neutral body.
    let droppedReasoning: Int

    /// The Responses object for a 200 answer: the upstream's own (native, with Sluice's id
    /// and the request's `store` and `previous_response_id`) or one made from a chat completion.
    func response(fromUpstream bytes: [UInt8]) -> JSONObject {
        let parsed = (try? JSON.parse(bytes))?.objectValue ?? [:]
        if parsed["object"]?.stringValue == "response" { return own(parsed) }
        return ResponsesCodec.response(
            fromChat: parsed, id: id, createdAt: Int(createdAt.timeIntervalSince1970), request: request)
    }

    /// An upstream Responses object made Sluice's: its id, and the request's state fields.
    func own(_ upstream: JSONObject) -> JSONObject {
        var r = upstream
        r["id"] = .string(id)
        r["store"] = .bool(request.store)
        r["previous_response_id"] = request.previousResponseID.map(JSON.string) ?? .null
        r["background"] = .bool(request.background)
        r["metadata"] = .object(request.clientMetadata)
        r["created_at"] = .int(Int(createdAt.timeIntervalSince1970))
        return r
    }
}
