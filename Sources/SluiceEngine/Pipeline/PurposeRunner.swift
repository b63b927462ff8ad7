import Foundation
import NIOCore
import SluiceCore

/// `POST /v1/purposes/{purpose}/run`: renders the purpose's prompt with the
/// caller's variables and runs it through the chat pipeline (cache, retries,
/// fallbacks, call record), answering Sluice's native shape.
public struct PurposeRunner: Sendable {
    let chat: ChatService
    let prompts: PromptBook
    /// The live purpose settings (config plus flags), read once per run.
    let live: LiveConfig
    /// Starts the purpose's shadow on sampled runs; `nil` for none.
    var shadows: ShadowRunner? = nil

    static let fields: Set<String> = ["variables", "user", "run_id", "cache", "metadata"]

    /// Runs `purpose` for a request body from an authenticated caller.
    public func run(
        purpose name: String, body: [UInt8], attribution headers: Attribution, identity: Identity,
        start: ContinuousClock.Instant = .now, eventLoop: (any EventLoop)? = nil
    ) async -> ChatReply {
        var attribution = headers
        attribution.purpose = name
        if attribution.surface == nil { attribution.surface = Surface.run.rawValue }
        do {
            let (chatBody, prompt, merged) = try prepare(purpose: name, body: body, attribution: attribution)
            let reply = await chat.handle(
                body: chatBody, attribution: merged, identity: identity, start: start, eventLoop: eventLoop,
                prompt: PromptRef(prompt))
            shadows?.afterRun(self, purpose: name, body: body, attribution: attribution, reply: reply)
            return Self.native(
                reply, prompt: prompt, variant: merged.variant,
                hasSchema: live.config.purposes[name]?.outputSchema != nil || prompt.outputSchema != nil)
        } catch {
            return await chat.failUnparsed(body: body, error: error, attribution: attribution, identity: identity, start: start)
        }
    }

    /// A run pinned to a prompt version and/or model, outside the purpose's split
    /// (shadow and eval runs); `nil` members keep the purpose's own.
    struct Pin: Sendable, Equatable {
        var promptVersion: String?
        var model: String?
    }

    /// The chat body for a run: the rendered messages, the model, the prompt's
    /// parameters under the purpose's, and the output schema as `response_format`.
    /// A `shadow` (or `pin`) run renders its prompt version and calls its model, outside the split.
    func prepare(
        purpose name: String, body: [UInt8], attribution: Attribution, shadow: SluiceConfig.Shadow? = nil, pin given: Pin? = nil
    ) throws -> ([UInt8], Prompt, Attribution) {
        let pin = given ?? shadow.map { Pin(promptVersion: $0.promptVersion, model: $0.model) }
        // One read, so that the purpose and its prompts come from the same version (a reload swaps both).
        let (purposes, library) = live.purposesAndPrompts
        guard let purpose = purposes[name] else {
            let known = purposes.keys.sorted()
            throw SluiceError.invalidRequest(
                "Unknown purpose '\(name)'" + (known.isEmpty ? "; no purposes are configured." : "; configured purposes: \(known.joined(separator: ", "))."),
                param: "purpose")
        }
        guard let promptName = purpose.prompt else {
            throw SluiceError.invalidRequest(
                "Purpose '\(name)' has no prompt to run; set purposes.\(name).prompt, or call /v1/chat/completions with X-Sluice-Purpose.",
                param: "purpose")
        }
        let json: JSON
        do { json = try JSON.parse(body.isEmpty ? Array("{}".utf8) : body) } catch {
            throw SluiceError.invalidRequest("The request body is not valid JSON: \(error).")
        }
        guard let obj = json.objectValue else { throw SluiceError.invalidRequest("The request body must be a JSON object, got \(json.typeName).") }
        for key in obj.keys where !Self.fields.contains(key) {
            throw SluiceError.invalidRequest(
                "Unknown field '\(key)'; a run takes \(Self.fields.sorted().joined(separator: ", ")).", param: key)
        }
        let variablesValue = obj["variables"] ?? .object([:])
        guard let variables = variablesValue.objectValue else {
            throw SluiceError.invalidRequest("'variables' must be an object, got \(variablesValue.typeName).", param: "variables")
        }
        var a = attribution
        for (field, keyPath) in [("user", \Attribution.user), ("run_id", \Attribution.runID), ("cache", \Attribution.cacheMode)] {
            guard let v = obj[field], !v.isNull else { continue }
            guard let s = v.stringValue else { throw SluiceError.invalidRequest("'\(field)' must be a string.", param: field) }
            a[keyPath: keyPath] = s
        }
        // The split is sticky per user (the header's, else the body's).
        let arm = pin == nil ? Variant.pick(purpose.variants, purpose: name, user: a.user) : nil
        guard let prompt = library.prompt(promptName, version: pin?.promptVersion ?? arm?.promptVersion ?? purpose.promptVersion) else {
            throw SluiceError(.internalError, "Prompt '\(promptName)' of purpose '\(name)' is not loaded; check the prompts directory and reload.")
        }
        if !purpose.variants.isEmpty { a.variant = arm?.name ?? Variant.base }
        let chat = try Self.chatBody(
            prompt, purpose: purpose, variables: variables, model: pin?.model ?? arm?.model ?? purpose.model ?? prompt.model ?? "",
            user: a.user, metadata: obj["metadata"])
        return (JSON.object(chat).serialized(), prompt, a)
    }

    /// The chat body of one rendering of `prompt`: its messages, the model, the prompt's
    /// parameters under the purpose's (when run for one), and the output schema as `response_format`.
    static func chatBody(
        _ prompt: Prompt, purpose: SluiceConfig.Purpose?, variables: JSONObject, model: String, user: String?, metadata: JSON?
    ) throws -> JSONObject {
        var chat = JSONObject()
        chat["model"] = .string(model)
        chat["messages"] = .array(try prompt.render(variables))
        for (k, v) in prompt.params { chat[k] = v }
        for (k, v) in purpose?.params ?? JSONObject() { chat[k] = v }
        if let schema = purpose?.outputSchema ?? prompt.outputSchema, chat["response_format"] == nil {
            chat["response_format"] = ["type": "json_schema", "json_schema": ["name": .string(Self.schemaName(prompt.name)), "schema": schema]]
        }
        if let user { chat["user"] = .string(user) }
        if let metadata { chat["metadata"] = metadata }
        return chat
    }

    /// OpenAI's schema names allow letters, digits, `_` and `-`, up to 64.
    static func schemaName(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" }.prefix(64))
    }

    /// A chat reply in the run's native shape.
    static func native(_ reply: ChatReply, prompt: Prompt, variant: String? = nil, hasSchema: Bool) -> ChatReply {
        guard case .json(let status, let bytes, let meta) = reply, status == 200,
            let completion = (try? JSON.parse(bytes))?.objectValue
        else { return reply }
        let text = ChatText.completionText(completion)
        // With a schema the answer was validated (and its JSON extracted) before it got here.
        let output: JSON = hasSchema ? ((try? JSON.parse(text)) ?? .null) : .null
        let usage = Usage(openAI: completion["usage"]) ?? Usage()
        let out: JSON = [
            "call_id": meta.callID.map(JSON.string) ?? .null, "text": .string(text), "output": output,
            "prompt_name": .string(prompt.name), "prompt_version": .string(prompt.version),
            "variant": variant.map(JSON.string) ?? .null,
            "model": .string(meta.answeredModel ?? completion["model"]?.stringValue ?? ""),
            "usage": [
                "input_tokens": .int(usage.inputTokens), "output_tokens": .int(usage.outputTokens),
                "cached_tokens": .int(usage.cachedTokens),
            ],
            "cost_usd": meta.costUSD.map(JSON.double) ?? .null, "cache": .string(meta.cache),
            "cache_similarity": meta.cacheSimilarity.map(JSON.double) ?? .null,
            "finish_reason": completion["choices"]?.arrayValue?.first?["finish_reason"] ?? .null,
            "schema_valid": hasSchema ? true : nil, "review_id": meta.reviewID.map(JSON.string) ?? .null,
        ]
        return .json(status: 200, body: out.serialized(), meta: meta)
    }
}
