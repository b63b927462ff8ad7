import Foundation

extension SluiceConfig {
    /// `tracing:`: OpenTelemetry traces sent over OTLP/HTTP (protobuf). Absent, nothing is traced.
    public struct Tracing: Sendable, Equatable {
        /// `otlp_endpoint`: the collector's OTLP/HTTP root (`http://127.0.0.1:4318`); spans go to
        /// `/v1/traces` under it, or to the URL as written when it already ends in `/v1/traces`.
        public var otlpEndpoint: String
        /// `service_name`: the `service.name` resource attribute; default `sluice`.
        public var serviceName = "sluice"
        /// `sample_ratio`: the share of new traces kept, 0…1; default 1. A client's `traceparent`
        /// decides for its own trace (parent-based sampling).
        public var sampleRatio = 1.0
        /// `headers`: sent with every export (a collector's API key, say).
        public var headers: [String: String] = [:]

        /// Tracing to `otlpEndpoint` with the defaults for the rest.
        public init(otlpEndpoint: String) {
            self.otlpEndpoint = otlpEndpoint
        }

        /// The URL spans are posted to.
        public var tracesURL: String {
            var base = otlpEndpoint
            if base.hasSuffix("/v1/traces") { return base }
            while base.hasSuffix("/") { base.removeLast() }
            return base + "/v1/traces"
        }
    }
}

extension ConfigLoader {
    /// `tracing: { otlp_endpoint, service_name, sample_ratio, headers }`.
    static func parseTracing(_ n: ConfigNode) throws -> SluiceConfig.Tracing {
        var endpoint: String?
        var t = SluiceConfig.Tracing(otlpEndpoint: "")
        for (k, v) in try n.mapping(allowed: ["otlp_endpoint", "service_name", "sample_ratio", "headers"]) {
            switch k {
            case "otlp_endpoint":
                let text = try v.string()
                guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                    let host = url.host, !host.isEmpty
                else {
                    throw v.error("otlp_endpoint must be an http(s) URL such as http://127.0.0.1:4318; got '\(text)'")
                }
                endpoint = text
            case "service_name":
                t.serviceName = try v.string()
                guard !t.serviceName.isEmpty else { throw v.error("service_name must not be empty") }
            case "sample_ratio":
                t.sampleRatio = try v.double()
                guard (0...1).contains(t.sampleRatio) else {
                    throw v.error("sample_ratio must be between 0 and 1; got \(t.sampleRatio)")
                }
            case "headers":
                for (name, value) in try v.stringMap() { t.headers[name] = value }
            default: break
            }
        }
        guard let endpoint else {
            throw n.error("tracing needs otlp_endpoint (the collector's OTLP/HTTP address, such as http://127.0.0.1:4318)")
        }
        t.otlpEndpoint = endpoint
        return t
    }
}
