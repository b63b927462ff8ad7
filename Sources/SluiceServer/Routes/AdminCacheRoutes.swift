import Foundation
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// `GET|DELETE /admin/cache` and `POST /admin/reload`.
struct AdminCacheRoutes {
    let gateway: Gateway

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/admin/cache") { request, context in try await self.summary(request, context) }
        router.delete("/admin/cache") { request, context in try await self.clear(request, context) }
        router.post("/admin/reload") { request, context in try await self.reload(request, context) }
    }

    func admin(_ request: Request, _ context: SluiceRequestContext) throws {
        _ = try context.caller()
    }

    /// Hit rate and savings per purpose over `since` (default 24h), with the entries held.
    func summary(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        try admin(request, context)
        let sinceText = request.uri.queryParameters.get("since") ?? "24h"
        guard let since = SinceParser.parse(sinceText, now: Date()) else {
            throw SluiceError.invalidRequest("since must be a duration such as 1h or 7d, or an ISO 8601 time; got '\(sinceText)'.", param: "since")
        }
        await gateway.callLog.flush()
        await gateway.cache.flush()
        let usage = try await gateway.store.cacheUsage(since: since)
        let sizes = try await gateway.store.cacheSizes()
        var rows: [String: JSON] = [:]
        var totals = (lookups: 0, hits: 0, semantic: 0, saved: 0.0, tokens: 0)
        for u in usage {
            let served = u.hits + u.semanticHits
            rows[u.purpose] = [
                "purpose": .string(u.purpose), "lookups": .int(u.lookups), "hits": .int(u.hits),
                "semantic_hits": .int(u.semanticHits), "misses": .int(u.lookups - served),
                "hit_rate": .double(u.lookups == 0 ? 0 : Double(served) / Double(u.lookups)),
                "saved_usd": .double(u.savedUSD), "saved_tokens": .int(u.savedTokens),
                "entries": .int(sizes[u.purpose]?.entries ?? 0), "bytes": .int(sizes[u.purpose]?.bytes ?? 0),
            ]
            totals = (totals.lookups + u.lookups, totals.hits + u.hits, totals.semantic + u.semanticHits,
                      totals.saved + u.savedUSD, totals.tokens + u.savedTokens)
        }
        for (purpose, size) in sizes where rows[purpose] == nil {
            rows[purpose] = [
                "purpose": .string(purpose), "lookups": 0, "hits": 0, "semantic_hits": 0, "misses": 0, "hit_rate": 0,
                "saved_usd": 0, "saved_tokens": 0, "entries": .int(size.entries), "bytes": .int(size.bytes),
            ]
        }
        let memory = gateway.cache.memoryUsage
        let served = totals.hits + totals.semantic
        return HTTPEdge.json(200, [
            "since": .string(Timestamp.iso8601(since)),
            "lookups": .int(totals.lookups), "hits": .int(totals.hits), "semantic_hits": .int(totals.semantic),
            "hit_rate": .double(totals.lookups == 0 ? 0 : Double(served) / Double(totals.lookups)),
            "saved_usd": .double(totals.saved), "saved_tokens": .int(totals.tokens),
            "memory": ["entries": .int(memory.count), "bytes": .int(memory.bytes), "max_bytes": .int(gateway.config.cache.maxBytes)],
            "by_purpose": .array(rows.keys.sorted().map { rows[$0]! }),
        ])
    }

    /// Drops cached answers of `?purpose=` (all when absent) on every node's store.
    func clear(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        try admin(request, context)
        let purpose: String? = request.uri.queryParameters.get("purpose").map { String($0) }
        let removed = try await gateway.cache.clear(purpose: purpose)
        return HTTPEdge.json(200, ["purpose": purpose.map(JSON.string) ?? .null, "removed": .int(removed)])
    }

    /// Re-reads the config and prompt files; a broken one is a 400 naming it, and the old set stays live.
    func reload(_ request: Request, _ context: SluiceRequestContext) async throws -> Response {
        try admin(request, context)
        let report: ReloadReport
        do {
            report = try gateway.reload()
        } catch {
            throw SluiceError.invalidRequest("Reload refused, the previous config and prompts stay live: \(error)")
        }
        let library = report.prompts
        return HTTPEdge.json(200, [
            "reloaded": true,
            "purposes": .array(report.purposes.map(JSON.string)),
            "restart_required": .array(report.restartRequired.map(JSON.string)),
            "flag_warnings": .array(report.flagWarnings.map(JSON.string)),
            "prompts": .array(library.names.map { name in
                ["name": .string(name), "live_version": library.liveVersion(of: name).map(JSON.string) ?? .null,
                 "versions": .array(library.versions(of: name).map { .string($0.version) })]
            }),
        ])
    }
}
