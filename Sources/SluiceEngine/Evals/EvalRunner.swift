import Foundation
import SluiceCore

/// Runs an ``EvalPlan`` through the gateway's own pipeline, in process: each
/// case × variant × model × repeat is rendered by the ``PurposeRunner`` with the
/// cell's prompt version and model pinned, and sent through the ``ChatService``
/// (routing, retries, schema validation and repair, pricing, the call record and
/// the ledger) as purpose `PURPOSE:eval` (`eval` for a prompt suite). Judges run
/// as `eval:judge`. The cache is bypassed unless ``useCache`` is set.
///
/// ```swift
/// let plan = try EvalPlan.make(suite: suite, config: gateway.live.config, prompts: gateway.prompts.library)
/// let runs = await EvalRunner(gateway: gateway, concurrency: 4).run(plan)
/// let report = EvalReport(plan: plan, runs: runs)
/// ```
public struct EvalRunner: Sendable {
    /// The gateway whose pipeline runs the calls (its call log must be running).
    public let gateway: Gateway
    /// Runs in flight at once (at least 1).
    public var concurrency: Int
    /// Whether calls may be served from (and stored in) the response cache.
    public var useCache: Bool
    /// The run id every call of this eval carries (`GET /admin/calls?run_id=`).
    public let runID: String

    /// A runner; see the properties.
    public init(gateway: Gateway, concurrency: Int = 4, useCache: Bool = false, runID: String = IDs.make("eval")) {
        self.gateway = gateway
        self.concurrency = max(1, concurrency)
        self.useCache = useCache
        self.runID = runID
    }

    /// Runs every case of `plan`; `progress` is called after each run. The runs come back in
    /// plan order (cell, case, repetition), whatever order they finished in.
    public func run(_ plan: EvalPlan, progress: (@Sendable (EvalProgress) -> Void)? = nil) async -> [EvalRun] {
        let cases = plan.suite.cases
        let repeats = plan.suite.repeatCount
        let total = plan.totalRuns
        guard total > 0 else { return [] }
        func item(_ i: Int) -> (EvalPlan.Cell, EvalCase, Int) {
            let perCell = cases.count * repeats
            let rest = i % perCell
            return (plan.cells[i / perCell], cases[rest / repeats], rest % repeats + 1)
        }
        var results = [EvalRun?](repeating: nil, count: total)
        await withTaskGroup(of: (Int, EvalRun).self) { group in
            var next = 0
            var state = EvalProgress(done: 0, total: total, failed: 0)
            while next < min(concurrency, total) {
                let (cell, c, rep) = item(next)
                let i = next
                group.addTask { (i, await self.runOne(plan, cell: cell, case: c, repetition: rep)) }
                next += 1
            }
            for await (i, run) in group {
                results[i] = run
                state.done += 1
                if !run.passed { state.failed += 1 }
                progress?(state)
                if next < total {
                    let (cell, c, rep) = item(next)
                    let j = next
                    group.addTask { (j, await self.runOne(plan, cell: cell, case: c, repetition: rep)) }
                    next += 1
                }
            }
        }
        return results.compactMap { $0 }
    }

    /// One run: the call, then its checks (judges called in order).
    func runOne(_ plan: EvalPlan, cell: EvalPlan.Cell, case c: EvalCase, repetition: Int) async -> EvalRun {
        var run = EvalRun(
            caseIndex: c.index, caseName: c.name, variant: cell.variant, promptVersion: cell.promptVersion, model: cell.model,
            repetition: repetition)
        let start = ContinuousClock.now
        let reply = await call(plan, cell: cell, vars: c.vars, start: start)
        run.latencyMs = Double((ContinuousClock.now - start) / .microseconds(1)) / 1000
        Self.read(reply, hasSchema: cell.hasSchema, into: &run)
        let decidesSchema = c.expect.contains { if case .schemaValid = $0 { true } else { false } }
        if let error = run.error, !(run.errorCode == SluiceError.Code.schemaValidationFailed.name && decidesSchema) {
            run.checks = [CheckResult(expectation: "call", kind: "call", passed: false, message: error)]
            return run
        }
        for e in c.expect {
            guard case .judge(let spec) = e else {
                run.checks.append(e.check(run))
                continue
            }
            var a = Attribution(purpose: EvalNames.judgePurpose, runID: runID, cacheMode: cacheMode)
            a.variant = cell.variant
            let reply = await gateway.chat.handle(
                body: Judge.body(spec, vars: c.vars, answer: run.output ?? ""), attribution: a, identity: .openLoopback)
            let (check, cost) = Judge.check(spec, summary: e.summary, reply: reply)
            run.checks.append(check)
            run.judgeCostUSD += cost
        }
        return run
    }

    var cacheMode: String { useCache ? "default" : "bypass" }

    /// Renders the case for the cell and sends it through the chat pipeline.
    func call(_ plan: EvalPlan, cell: EvalPlan.Cell, vars: JSONObject, start: ContinuousClock.Instant) async -> ChatReply {
        var a = Attribution(purpose: plan.callPurpose, runID: runID, cacheMode: cacheMode)
        do {
            let body: [UInt8]
            let prompt: Prompt
            if let purpose = plan.suite.purpose {
                let request = JSON.object(["variables": .object(vars)]).serialized()
                (body, prompt, a) = try gateway.purposes.prepare(
                    purpose: purpose, body: request, attribution: a,
                    pin: PurposeRunner.Pin(promptVersion: cell.promptVersion, model: cell.model))
            } else {
                guard let p = gateway.prompts.library.prompt(plan.promptName, version: cell.promptVersion) else {
                    throw SluiceError(.internalError, "Prompt \(plan.promptName)@\(cell.promptVersion) is not loaded.")
                }
                prompt = p
                body = JSON.object(
                    try PurposeRunner.chatBody(p, purpose: nil, variables: vars, model: cell.model, user: nil, metadata: nil)
                ).serialized()
            }
            a.variant = cell.variant
            return await gateway.chat.handle(body: body, attribution: a, identity: .openLoopback, start: start, prompt: PromptRef(prompt))
        } catch {
            a.variant = cell.variant
            return await gateway.chat.failUnparsed(
                body: JSON.object(["model": .string(cell.model)]).serialized(), error: error, attribution: a, identity: .openLoopback,
                start: start)
        }
    }

    /// The answer, usage, cost and failure of a reply.
    static func read(_ reply: ChatReply, hasSchema: Bool, into run: inout EvalRun) {
        switch reply {
        case .json(let status, let bytes, let meta):
            run.callID = meta.callID
            run.cache = meta.cache
            guard status == 200, let completion = (try? JSON.parse(bytes))?.objectValue else {
                run.error = "the call answered HTTP \(status)"
                return
            }
            run.answered = true
            run.costUSD = meta.costUSD
            run.output = ChatText.completionText(completion)
            let usage = Usage(openAI: completion["usage"]) ?? Usage()
            run.inputTokens = usage.inputTokens
            run.outputTokens = usage.outputTokens
            // The pipeline validated (and repaired) the answer against the schema before it got here.
            if hasSchema { run.schemaValid = true }
        case .failure(let error, let meta):
            run.callID = meta.callID
            run.error = error.message
            run.errorCode = error.code.name
            if error.code == .schemaValidationFailed {
                run.output = error.details["raw"]?.stringValue
                run.schemaValid = false
            }
        case .stream(_, let meta), .events(_, let meta):
            run.callID = meta.callID
            run.error = "the call answered a stream"
        }
    }
}

/// How far an eval run is.
public struct EvalProgress: Sendable, Equatable {
    /// Runs finished.
    public var done: Int
    /// Runs in all.
    public var total: Int
    /// Finished runs that failed a check.
    public var failed: Int

    /// Progress; see the properties.
    public init(done: Int, total: Int, failed: Int) {
        self.done = done
        self.total = total
        self.failed = failed
    }
}
