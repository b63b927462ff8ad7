/// Trace-context headers (W3C `traceparent`, `tracestate`) for the upstream
/// requests made inside one attempt. The engine sets them around an attempt
/// when tracing is on; every provider request sent through ``UpstreamHTTP``
/// carries them. Empty (the default) leaves requests untouched.
public enum UpstreamTraceHeaders {
    /// The headers of the current attempt, as (name, value) pairs.
    @TaskLocal public static var current: [(name: String, value: String)] = []
}
