import Foundation
import SluiceCore
import SluiceProviders

/// The "same family, native" rule: a request that arrived in a provider's own format
/// (an Anthropic client's Messages body) goes to that provider's targets as it was
/// sent, and their answer comes back as they gave it. The policies still read the
/// request's OpenAI shape (the neutral body). Translation happens only across families,
/// and only for requests that lose nothing in it.
extension ChatService {
    /// Decides whether the call can keep its native request, after the input checks.
    /// A request with native-only features (`thinking`, `top_k`, `document`…) needs a
    /// target that takes its format, and no policy that rewrites the request (PII
    /// redaction, the purpose's output schema: they act on the translated request):
    /// otherwise the call is a 400 naming the feature. A request without such features
    /// goes natively where it can and translated elsewhere, or translated everywhere
    /// when a policy rewrote it.
    func nativePlan(
        _ native: NativeRequest?, request: ChatRequest, targets: [ResolvedTarget], input: InputCheck,
        record: inout CallRecord, ctx: CallContext
    ) async -> Step<NativeRequest?> {
        guard let native else { return .next(nil) }
        let rewrite =
            input.redaction != nil
            ? "purpose '\(ctx.purpose)' redacts personal data (pii: redact), which Sluice does on the translated request only"
            : input.schema != nil
                ? "purpose '\(ctx.purpose)' has an output schema, which Sluice requests on the translated request only" : nil
        guard let feature = native.nativeOnly.first else {
            return .next(rewrite == nil ? native : nil)
        }
        let features = native.nativeOnly.map { "'\($0)'" }.joined(separator: ", ")
        if let rewrite {
            let e = SluiceError.invalidRequest(
                "'\(feature)' cannot be translated for model '\(request.model)': \(rewrite), and the request uses "
                    + "\(features), which only the \(native.format.displayName) can express.",
                param: feature)
            return .answer(await fail(&record, e, ctx: ctx))
        }
        if !targets.contains(where: { $0.provider.nativeFormats.contains(native.format) }) {
            let list = targets.map { "\($0.provider.name)/\($0.model)" }.joined(separator: ", ")
            let e = SluiceError.invalidRequest(
                "'\(feature)' cannot be translated for model '\(request.model)': it has no \(native.format.family) target "
                    + "(\(list) take\(targets.count == 1 ? "s" : "") the OpenAI chat shape, which cannot express \(features)). "
                    + "Remove \(features), or give the model a target on a provider of type \(native.format.providerType).",
                param: feature)
            return .answer(await fail(&record, e, ctx: ctx))
        }
        return .next(native)
    }

    /// For a request with native-only features: why a target that cannot take it is
    /// skipped (recorded as an attempt that made no upstream request); `nil` otherwise.
    static func nativeSkip(_ native: NativeRequest?) -> (@Sendable (ResolvedTarget) -> String?)? {
        guard let native, let feature = native.nativeOnly.first else { return nil }
        return { target in
            target.provider.nativeFormats.contains(native.format)
                ? nil
                : "skipped: '\(feature)' cannot be sent to an OpenAI-family target (provider '\(target.provider.name)' "
                    + "takes the OpenAI chat shape, not the \(native.format.displayName))"
        }
    }

    /// The native request for `target`, addressed to its model; `nil` when its provider does not take the format.
    static func native(_ native: NativeRequest?, for target: ResolvedTarget, stream: Bool) -> NativeRequest? {
        guard let native, target.provider.nativeFormats.contains(native.format) else { return nil }
        return native.addressed(to: target.model, stream: stream)
    }

    /// A whole answer that came natively is sent as the upstream's bytes (the policies
    /// already ran on its OpenAI shape); any other reply as it is.
    static func passNative(_ reply: ChatReply, _ response: UpstreamResponse) -> ChatReply {
        // An escalated cascade answered from a later stage: the first stage's own bytes are not the answer.
        guard let native = response.native, case .json(200, _, let meta) = reply, meta.cascade != "escalated" else { return reply }
        return .json(status: 200, body: native, meta: meta)
    }
}

extension NativeFormat {
    /// The provider family that speaks it, for messages.
    var family: String {
        switch self {
        case .anthropicMessages: "Anthropic"
        case .openAIResponses: "OpenAI"
        }
    }

    /// The provider `type` whose targets take it.
    var providerType: String {
        switch self {
        case .anthropicMessages: "anthropic"
        case .openAIResponses: "openai or azure_openai"
        }
    }
}
