import SluiceProviders
import Tracing

/// Trace context in and out: the client's `traceparent` becomes the parent of
/// its call's span; every upstream attempt is a child span whose context goes
/// upstream as `traceparent` (and `tracestate`).
extension CallTracer {
    /// Runs `body` (a request's handling) under the trace context the client
    /// sent. A missing or malformed `traceparent` starts a new trace.
    public func withClientContext<T>(
        traceparent: String?, tracestate: String?, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> T
    ) async rethrows -> T {
        var context = ServiceContext.topLevel
        if let traceparent, Self.looksLikeTraceparent(traceparent) {
            var carrier = ["traceparent": traceparent]
            if let tracestate { carrier["tracestate"] = tracestate }
            tracer.extract(carrier, into: &context, using: DictionaryExtractor())
        }
        return try await ServiceContext.withValue(context, operation: body)
    }

    /// `VERSION-TRACEID-PARENTID-FLAGS` in lowercase hex; anything else is ignored
    /// without a log line, so that a client cannot fill the log with bad headers.
    static func looksLikeTraceparent(_ value: String) -> Bool {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[1].count == 32, parts[2].count == 16, parts[3].count == 2 else {
            return false
        }
        return parts.prefix(4).allSatisfy { $0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } }
    }

    /// `attempt` wrapped in a client span under the call's span, its context
    /// sent upstream as `traceparent`; `attempt` itself when the call is not traced.
    func traced<T: Sendable>(
        _ attempt: @escaping @Sendable (ResolvedTarget) async throws(ProviderError) -> T, callID: String
    ) -> @Sendable (ResolvedTarget) async throws(ProviderError) -> T {
        { [self] target async throws(ProviderError) -> T in
            guard let (parent, operation) = context(of: callID) else { return try await attempt(target) }
            let span = tracer.startSpan("\(operation.rawValue) \(target.model)", context: parent, ofKind: .client)
            let provider = target.provider.name
            span.updateAttributes { a in
                a["gen_ai.operation.name"] = operation.rawValue
                a["gen_ai.provider.name"] = providerNames[provider] ?? provider
                a["gen_ai.request.model"] = target.model
                a["sluice.provider"] = provider
                a["sluice.call_id"] = callID
            }
            var headers: [(name: String, value: String)] = []
            tracer.inject(span.context, into: &headers, using: HeaderInjector())
            let result = await UpstreamTraceHeaders.$current.withValue(headers) { () async -> Result<T, ProviderError> in
                do throws(ProviderError) { return .success(try await attempt(target)) } catch { return .failure(error) }
            }
            switch result {
            case .success:
                span.attributes["http.response.status_code"] = 200
            case .failure(let error):
                span.updateAttributes { a in
                    if let status = error.status { a["http.response.status_code"] = status }
                    a["error.type"] = error.status.map(String.init) ?? error.kind.rawValue
                }
                span.setStatus(SpanStatus(code: .error, message: error.message))
            }
            span.end()
            return try result.get()
        }
    }
}

/// Reads trace headers from a name → value dictionary.
struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

/// Appends trace headers to a list of (name, value) pairs.
struct HeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [(name: String, value: String)]) {
        carrier.append((key, value))
    }
}
