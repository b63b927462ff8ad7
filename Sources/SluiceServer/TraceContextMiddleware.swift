import HTTPTypes
import Hummingbird
import SluiceEngine

/// Runs each request under the W3C trace context its client sent
/// (`traceparent`, `tracestate`), so that the call's span joins the client's
/// trace. Installed only when tracing is on; without it Sluice reads no trace
/// header and sends none upstream.
struct TraceContextMiddleware<Context: RequestContext>: RouterMiddleware {
    let traces: CallTracer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await traces.withClientContext(
            traceparent: request.headers[Self.traceparent], tracestate: request.headers[Self.tracestate]
        ) {
            try await next(request, context)
        }
    }

    static var traceparent: HTTPField.Name { HTTPField.Name("traceparent")! }
    static var tracestate: HTTPField.Name { HTTPField.Name("tracestate")! }
}
