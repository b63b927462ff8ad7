import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine

/// `GET /healthz` (the process answers, and which version it runs), `GET /readyz` (the store answers and
/// the call log is keeping up) and `GET /metrics` (Prometheus text).
struct HealthRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/healthz") { _, _ in HTTPEdge.json(200, ["status": "ok", "version": .string(SluiceVersion.current)]) }
        router.get("/readyz") { _, _ in await self.ready() }
        router.get("/metrics") { _, _ in
            let depths = await self.gateway.queueDepths()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: self.gateway.metrics.exposition(queues: depths))))
        }
    }

    func ready() async -> Response {
        var checks = JSONObject()
        var ok = true
        checks["backend"] = .string(gateway.store.backend)
        do {
            try await gateway.store.ping()
            checks["store"] = "ok"
        } catch {
            ok = false
            checks["store"] = .string("unavailable: \(error)")
        }
        if gateway.store.backend == "postgres" {
            checks["notifications"] = gateway.changes.isListening ? "listening" : "reconnecting"
        }
        let pending = gateway.callLog.pending
        checks["call_log_pending"] = .int(pending)
        if gateway.callLog.isDegraded {
            ok = false
            checks["call_log"] = "writes failing; records are held in memory"
        }
        return HTTPEdge.json(ok ? 200 : 503, ["status": .string(ok ? "ready" : "degraded"), "checks": .object(checks)])
    }
}
