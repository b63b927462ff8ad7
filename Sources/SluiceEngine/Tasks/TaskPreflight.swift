import Foundation
import SluiceCore
import SluiceJSONSchema

/// Checks a task's request at `POST /v1/tasks` as the synchronous call would be
/// checked, so that a request that can never run is the same `4xx` now (and no
/// row) instead of a task that fails a moment later.
struct TaskPreflight: Sendable {
    let chat: ChatService
    let purposes: PurposeRunner

    /// The `request` of a raw task with the purpose's model filled in when it names none;
    /// throws what a synchronous call would answer: an unknown model, a kill switch or
    /// disabled purpose, a schema that does not compile.
    func check(request: JSONObject, purpose: String) throws(SluiceError) -> JSONObject {
        var body = request
        if body["model"] == nil || body["model"]?.isNull == true, let model = chat.live.config.purposes[purpose]?.model {
            body["model"] = .string(model)
        }
        let parsed = try ChatRequest(body: .object(body))
        try chat.preflight(purpose: purpose, model: parsed.model, body: body)
        return body
    }

    /// Renders a prompt task's variables (a missing variable is the run's `400`) and checks the rendered call.
    func check(variables: JSONObject, purpose: String, attribution: Attribution) throws(SluiceError) {
        let rendered: [UInt8]
        do {
            (rendered, _, _) = try purposes.prepare(
                purpose: purpose, body: JSON.object(["variables": .object(variables)]).serialized(), attribution: attribution)
        } catch let e as SluiceError {
            throw e
        } catch {
            throw SluiceError.invalidRequest("\(error)", param: "variables")
        }
        guard let body = (try? JSON.parse(rendered))?.objectValue, let model = body["model"]?.stringValue else { return }
        try chat.preflight(purpose: purpose, model: model, body: body)
    }
}

extension ChatService {
    /// What a call to `model` under `purpose` would be refused for before any provider is
    /// asked: a kill switch, a disabled purpose, an unknown model, an output schema that does not compile.
    func preflight(purpose: String, model: String, body: JSONObject) throws(SluiceError) {
        if !kills.isEmpty, let k = kills.kill(.purpose, purpose) ?? kills.kill(.model, model) { throw Self.disabled(k) }
        if live.isDisabled(purpose) {
            throw SluiceError(
                .disabled, "Purpose '\(purpose)' is disabled by the flag '\(purpose).disabled'; remove it with sluice flags set \(purpose).disabled=null.")
        }
        _ = try catalog.targets(for: model)
        if let schema = Self.requestedSchema(body) { try compile(schema) }
    }

    /// The schema a request's `response_format` asks for, if any.
    static func requestedSchema(_ body: JSONObject) -> JSON? {
        let format = body["response_format"]
        guard format?["type"]?.stringValue == "json_schema" else { return nil }
        return format?["json_schema"]?["schema"]
    }

    /// Compiles `schema`; one that does not compile is a `400` naming `response_format`.
    func compile(_ schema: JSON) throws(SluiceError) {
        do { _ = try schemas.schema(for: schema) } catch {
            throw SluiceError.invalidRequest(
                "response_format.json_schema.schema is not a valid JSON Schema: \(error). Fix the schema and send the request again.",
                param: "response_format")
        }
    }
}
