import Foundation
import SluiceCore
import SluiceStore

/// Input drift by meaning: the inputs of the baseline window are embedded and averaged into a
/// centroid; a recent input is "far" when its cosine distance to it is beyond what 95 % of the
/// baseline's own inputs show. About 5 % of recent inputs are far when nothing changed; the
/// shift is flagged when at least a quarter are (and at least 10 were measured).
public enum InputCentroid {
    /// What embeds texts (the gateway's embeddings pipeline, so the calls are logged and costed).
    public typealias Embed = @Sendable ([String]) async -> [[Double]]?

    /// The shift, or `nil` when either window has too few stored inputs (bodies not kept, say).
    static func shift(
        purpose: String, store: any CallStore, windowStart: Date, baselineStart: Date, now: Date, sample: Int, embed: Embed
    ) async throws -> DriftShift? {
        let recent = try await inputs(store, purpose: purpose, from: windowStart, to: now, sample: sample)
        let before = try await inputs(store, purpose: purpose, from: baselineStart, to: windowStart, sample: sample)
        guard recent.count >= 10, before.count >= 10, let b = await embed(before), let r = await embed(recent),
            b.count == before.count, r.count == recent.count, let centroid = Self.centroid(b)
        else { return nil }
        let baseDistances = b.map { distance($0, centroid) }.sorted()
        let threshold = baseDistances[min(baseDistances.count - 1, Int((Double(baseDistances.count) * 0.95).rounded(.up)) - 1)]
        let far = Double(r.filter { distance($0, centroid) > threshold }.count) / Double(r.count)
        let significant = far >= 0.25
        let note = "\(DriftReport.pct(far)) of recent inputs are far from the baseline's centroid (about 5% expected; \(r.count) embedded)"
        return DriftShift(metric: "input_centroid_far_share", baseline: 0.05, current: far, significant: significant, note: note)
    }

    /// The user text of up to `sample` calls of the window, spread over it (newest first).
    static func inputs(_ store: any CallStore, purpose: String, from: Date, to: Date, sample: Int) async throws -> [String] {
        var out: [String] = []
        var before: String?
        while out.count < sample {
            let page = try await store.list(CallFilter(purpose: purpose, since: from, before: before, limit: 200))
            guard let last = page.last else { break }
            for r in page where r.createdAt < to && r.shadowOf == nil {
                if let text = text(of: r.requestBody), !text.isEmpty { out.append(text) }
                if out.count >= sample { break }
            }
            before = last.callID
            if page.count < 200 { break }
        }
        return out
    }

    /// The messages' text of a stored request body.
    static func text(of body: String?) -> String? {
        guard let body, let json = try? JSON.parse(body) else { return nil }
        let messages = json["messages"]?.arrayValue ?? []
        return messages.map { ChatText.content($0["content"]) }.joined(separator: "\n")
    }

    static func centroid(_ vectors: [[Double]]) -> [Double]? {
        guard let n = vectors.first?.count, n > 0 else { return nil }
        var sum = [Double](repeating: 0, count: n)
        for v in vectors where v.count == n { for i in 0..<n { sum[i] += v[i] } }
        return sum.map { $0 / Double(vectors.count) }
    }

    /// 1 − cosine similarity.
    static func distance(_ a: [Double], _ b: [Double]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in 0..<min(a.count, b.count) {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        guard na > 0, nb > 0 else { return 1 }
        return 1 - dot / (na.squareRoot() * nb.squareRoot())
    }
}

extension ChatService {
    /// Embeds `texts` with `model` through the embeddings pipeline, under `purpose`; `nil` on failure.
    public func embedTexts(_ texts: [String], model: String, purpose: String) async -> [[Double]]? {
        let body = JSON.object(["model": .string(model), "input": .array(texts.map(JSON.string))]).serialized()
        let reply = await handleEmbeddings(body: body, attribution: Attribution(purpose: purpose), identity: .openLoopback)
        guard case .json(200, let bytes, _) = reply, let data = (try? JSON.parse(bytes))?["data"]?.arrayValue else { return nil }
        return data.sorted { ($0["index"]?.intValue ?? 0) < ($1["index"]?.intValue ?? 0) }
            .map { ($0["embedding"]?.arrayValue ?? []).map { $0.doubleValue ?? 0 } }
    }
}

extension Gateway {
    /// What input drift by meaning needs for `purpose` (its `drift.embedding_model`); `nil` without one.
    public func inputCentroid(purpose: String) -> (store: any CallStore, sample: Int, embed: InputCentroid.Embed)? {
        guard let d = live.config.purposes[purpose]?.driftEmbedding else { return nil }
        let chat = self.chat
        return (store, d.sample, { texts in await chat.embedTexts(texts, model: d.model, purpose: purpose) })
    }
}
