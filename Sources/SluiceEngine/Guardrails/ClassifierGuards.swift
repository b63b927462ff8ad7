import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SluiceCore
import SluiceProviders

/// Runs a purpose's classifier guards (``GuardClassifier``) on a text: each verdict is
/// recorded (with its latency and cost), flags are returned, and the first rule whose verdict
/// (or whose failure, when it fails closed) calls for a block gives the error that refuses the call.
public final class ClassifierGuards: Sendable {
    /// What the classifiers said about one text.
    struct Outcome: Sendable {
        var flags: [String] = []
        var verdicts: [GuardVerdict] = []
        var blocked: SluiceError?
        var costUSD: Double = 0
    }

    let clients: HTTPClients
    let catalog: ModelCatalog
    let prices: PriceTable
    let logger: Logger
    let random: @Sendable () -> Double

    /// Classifiers that post through `clients`, reach models through `catalog` and price judges with `prices`.
    public init(
        clients: HTTPClients, catalog: ModelCatalog, prices: PriceTable, logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.clients = clients
        self.catalog = catalog
        self.prices = prices
        self.logger = logger
        self.random = random
    }

    /// Whether any rule of `rules` has a classifier.
    static func any(_ rules: [GuardRule]) -> Bool { rules.contains { $0.classifier != nil } }

    /// Asks every classifier rule of `rules` about `text` (`side` is `input` or `output`).
    func check(_ rules: [GuardRule], text: String, side: String, code: SluiceError.Code, purpose: String, callID: String) async -> Outcome {
        var out = Outcome()
        for rule in rules {
            guard let classifier = rule.classifier else { continue }
            let start = ContinuousClock.now
            var verdict: String
            var detail: String?
            var cost: Double?
            do {
                (verdict, detail, cost) = try await ask(classifier, rule: rule.name, text: text, side: side, purpose: purpose, callID: callID)
            } catch {
                verdict = "error"
                detail = "\(error)"
                logger.warning(
                    "guard classifier failed", metadata: ["rule": "\(rule.name)", "classifier": "\(classifier.kind)", "error": "\(error)"])
            }
            let ms = (ContinuousClock.now - start).milliseconds
            out.verdicts.append(GuardVerdict(
                rule: rule.name, side: side, classifier: classifier.kind, verdict: verdict, latencyMs: ms, costUSD: cost, detail: detail))
            out.costUSD += cost ?? 0
            // A failure counts as a match when the rule fails closed.
            let matched = verdict == "block" || verdict == "flag" || (verdict == "error" && classifier.onError == .closed)
            guard matched else { continue }
            if rule.action == .block && verdict != "flag" && out.blocked == nil {
                let why = verdict == "error"
                    ? "its \(classifier.kind) classifier could not answer (\(detail ?? "error")) and the rule fails closed"
                    : "its \(classifier.kind) classifier said block\(detail.map { ": \($0)" } ?? "")"
                out.blocked = SluiceError(code, "The \(side) guard '\(rule.name)' blocked this call: \(why).", param: "guard:\(rule.name)")
            } else {
                out.flags.append("\(side):\(rule.name)")
            }
        }
        return out
    }

    /// The verdict, its detail and cost of one classifier.
    func ask(_ c: GuardClassifier, rule: String, text: String, side: String, purpose: String, callID: String) async throws
        -> (String, String?, Double?)
    {
        switch c {
        case .webhook(let w):
            let body: JSON = [
                "text": .string(text), "side": .string(side), "purpose": .string(purpose), "rule": .string(rule), "call_id": .string(callID),
            ]
            let answer = try await post(w.url, body: body, headers: [], timeout: w.timeout)
            guard let verdict = answer["verdict"]?.stringValue, ["allow", "flag", "block"].contains(verdict) else {
                throw ClassifierError("the webhook answered without a verdict of allow, flag or block")
            }
            return (verdict, answer["reason"]?.stringValue, nil)
        case .moderation(let m):
            guard let target = try? catalog.targets(for: m.model).first else { throw ClassifierError("model '\(m.model)' is not configured") }
            let request = UpstreamRequest(body: ["model": .string(target.model), "input": .string(text)], model: target.model, stream: false)
            let answer = try await withTimeout(m.timeout) { try await target.provider.moderate(request) }
            guard let result = answer.json["results"]?.arrayValue?.first else { throw ClassifierError("the moderation answer has no results") }
            if m.categories.isEmpty {
                let flagged = result["flagged"]?.boolValue ?? false
                let names = (result["categories"]?.objectValue ?? [:]).filter { $0.value.boolValue == true }.map(\.key).sorted()
                return (flagged ? "block" : "allow", flagged ? "flagged: " + names.joined(separator: ", ") : nil, nil)
            }
            let scores = result["category_scores"]?.objectValue ?? [:]
            let over = m.categories.sorted { $0.key < $1.key }.compactMap { name, threshold -> String? in
                guard let s = scores[name]?.doubleValue, s >= threshold else { return nil }
                return "\(name) \(Decimals.format(s, places: 3, trim: true)) ≥ \(Decimals.format(threshold, places: 3, trim: true))"
            }
            return (over.isEmpty ? "allow" : "block", over.isEmpty ? nil : over.joined(separator: ", "), nil)
        case .judge(let j):
            guard j.sample >= 1 || random() < j.sample else { return ("skipped", "not sampled", nil) }
            guard let target = try? catalog.targets(for: j.model).first else { throw ClassifierError("model '\(j.model)' is not configured") }
            let request = UpstreamRequest(body: Self.judgeBody(j, text: text, side: side, model: target.model), model: target.model, stream: false)
            let answer = try await withTimeout(j.timeout) { try await target.provider.complete(request) }
            let cost = answer.usage.flatMap { u in prices.price(target: target.model, answered: answer.answeredModel).map { $0.cost(of: u) } }
            guard let verdict = JSONExtractor.extract(answer.text)?.0, let score = verdict["score"]?.doubleValue else {
                // Paid for all the same: the cost stays with the verdict.
                return ("error", "the judge did not answer with a score", cost)
            }
            let reason = verdict["reason"]?.stringValue
            let detail = "score \(Decimals.format(score, places: 2, trim: true)) (min \(Decimals.format(j.min, places: 2, trim: true)))"
                + (reason.map { ": \($0)" } ?? "")
            return (score < j.min ? "block" : "allow", detail, cost)
        }
    }

    /// The judge's chat body: the rubric, the text, and a request for `{"score", "reason"}`.
    static func judgeBody(_ j: GuardClassifier.Judge, text: String, side: String, model: String) -> JSONObject {
        let shown = text.count <= 20_000 ? text : String(text.prefix(20_000)) + "\n[… cut]"
        return [
            "model": .string(model), "temperature": 0,
            "messages": [
                ["role": "system", "content": .string(Judge.system)],
                ["role": "user", "content": .string("Rubric:\n\(j.rubric)\n\nThe \(side) to judge (between the markers):\n<<<\n\(shown)\n>>>")],
            ],
        ]
    }

    func post(_ url: String, body: JSON, headers: [(String, String)], timeout: Duration) async throws -> JSON {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        let ms = Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let response = try await clients.client(for: nil).execute(request, timeout: .milliseconds(ms))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw ClassifierError("the webhook answered \(response.status.code)")
        }
        guard let json = try? JSON.parse(Array(bytes.readableBytesView)) else { throw ClassifierError("the webhook answered with no JSON") }
        return json
    }

    func withTimeout<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw ClassifierError("no answer within \(limit)")
            }
            guard let first = try await group.next() else { throw ClassifierError("no answer") }
            group.cancelAll()
            return first
        }
    }
}

/// Why a classifier gave no verdict.
struct ClassifierError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
