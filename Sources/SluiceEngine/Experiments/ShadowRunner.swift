import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceStore
import Synchronization

/// Runs a purpose's shadow: after a live call has its answer, a sampled share
/// of calls is run again in the background with the shadow's prompt version
/// and/or model, so both answers can be compared (``ShadowReport``).
///
/// A shadow never delays or fails the live call: the hooks decide in memory and
/// start a detached task that nobody awaits. Its call goes through the same chat
/// pipeline (cache bypassed) as purpose `PURPOSE:shadow`, so its call row and
/// ledger entry carry that tag and `shadow_of` names the live call. It is not
/// charged to the caller's key (neither its budget nor its rate limits); it has
/// its own cap, `shadow.daily_budget_usd`, checked against the `PURPOSE:shadow`
/// spend of the UTC day before each run (a soft cap: runs already in flight may
/// pass it). A run that finds the purpose's `max_concurrency` runs busy, or the
/// budget spent, is skipped and counted (``ShadowCounters``).
///
/// Shadowed: complete answers (200) that were not served from the cache nor
/// degraded, answers that failed their schema (422, which have an output to
/// compare), and streams that ended cleanly (the shadow runs whole, once the live
/// stream ended). Not shadowed: other failures, cache hits, and shadow runs.
///
/// The pipeline fires the hooks itself (``ChatService/handle(body:attribution:identity:start:eventLoop:prompt:)``
/// for raw calls on every surface, ``PurposeRunner`` for prompt runs): surfaces never call them.
public final class ShadowRunner: Service, Sendable {
    struct State {
        var inFlight: [String: Int] = [:]
        var total = 0
        var counters: [String: ShadowCounters] = [:]
        /// Spend of finished runs on this node, per purpose, for the UTC day it was spent in.
        var spent: [String: (day: String, usd: Double)] = [:]
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let chat: ChatService
    let ledger: any LedgerStore
    let clock: any WallClock
    let logger: Logger
    let lookup: @Sendable (String) -> SluiceConfig.Shadow?
    private let random: Mutex<@Sendable () -> Double>
    private let state = Mutex(State())

    /// Who a shadow run calls as: no virtual key (so no key budget or rate limit applies), any purpose.
    static let identity = Identity(keyName: nil, purposes: ["*"], isAdmin: false)

    /// A runner over `chat`; `lookup` gives a purpose's live shadow setting (config plus flags).
    public init(
        chat: ChatService, ledger: any LedgerStore, clock: any WallClock, logger: Logger,
        lookup: @escaping @Sendable (String) -> SluiceConfig.Shadow?
    ) {
        self.chat = chat
        self.ledger = ledger
        self.clock = clock
        self.logger = logger
        self.lookup = lookup
        self.random = Mutex({ Double.random(in: 0..<1) })
    }

    /// Replaces the source of the uniform numbers in 0..<1 the sample is drawn with (tests).
    public func setRandom(_ source: @escaping @Sendable () -> Double) {
        random.withLock { $0 = source }
    }

    /// This node's counters per purpose since it started.
    public var counters: [String: ShadowCounters] { state.withLock { $0.counters } }

    /// Shadow runs in flight on this node.
    public var inFlight: Int { state.withLock { $0.total } }

    /// Returns once no shadow run is in flight (tests, shutdown).
    public func idle() async {
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.total == 0 { return true }
                s.idleWaiters.append(cont)
                return false
            }
            if now { cont.resume() }
        }
    }

    /// How long a graceful shutdown waits for shadow runs in flight.
    static let drainLimit: Duration = .seconds(10)

    /// Waits for a graceful shutdown, then (up to ``drainLimit``) for the runs in flight, so that
    /// their call records reach the call log before it drains.
    public func run() async throws {
        do { try await gracefulShutdown() } catch { return }
        let deadline = ContinuousClock.now + Self.drainLimit
        while inFlight > 0, ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(20)) } catch { return }
        }
    }

    /// The hook of `POST /v1/chat/completions`: shadows a raw call whose purpose has a shadow
    /// with a `model` (a raw call has no prompt to re-render, so a prompt version alone does not apply).
    func afterChat(body: [UInt8], attribution: Attribution, reply: ChatReply) {
        guard attribution.shadowOf == nil else { return }
        Self.whenShadowable(reply) { [self] primaryID in shadowChat(body: body, attribution: attribution, primaryID: primaryID) }
    }

    private func shadowChat(body: [UInt8], attribution: Attribution, primaryID: String) {
        let purpose: String
        if let p = attribution.purpose {
            purpose = p
        } else if Self.mentionsPurpose(body) {
            guard let obj = try? JSON.parse(body).objectValue else { return }
            let meta = obj["metadata"]?.objectValue ?? JSONObject()
            purpose = meta.first { $0.key.lowercased() == "x-sluice-purpose" }?.value.stringValue ?? "default"
        } else {
            purpose = "default"
        }
        guard let shadow = admit(purpose, needsModel: true) else { return }
        launch(purpose, shadow) { [chat] in
            guard let request = Self.shadowBody(body, model: shadow.model, user: attribution.user) else { return nil }
            let a = Self.attribution(purpose: purpose, user: request.user, primary: primaryID)
            return await chat.handle(body: request.body, attribution: a, identity: Self.identity)
        }
    }

    /// The hook of a prompt run (`POST /v1/purposes/{purpose}/run` and tasks): re-renders the
    /// caller's variables with the shadow's prompt version and/or model.
    func afterRun(_ runner: PurposeRunner, purpose: String, body: [UInt8], attribution: Attribution, reply: ChatReply) {
        guard attribution.shadowOf == nil else { return }
        Self.whenShadowable(reply) { [self] primaryID in
            shadowRun(runner, purpose: purpose, body: body, attribution: attribution, primaryID: primaryID)
        }
    }

    private func shadowRun(_ runner: PurposeRunner, purpose: String, body: [UInt8], attribution: Attribution, primaryID: String) {
        guard let shadow = admit(purpose) else { return }
        launch(purpose, shadow) { [chat] in
            let rendered: [UInt8], prompt: Prompt, merged: Attribution
            do {
                (rendered, prompt, merged) = try runner.prepare(purpose: purpose, body: body, attribution: attribution, shadow: shadow)
            } catch {
                // The candidate cannot render this input (a variable only its version needs): a failed run, recorded.
                let a = Self.attribution(purpose: purpose, user: attribution.user, primary: primaryID)
                return await chat.failUnparsed(body: body, error: error, attribution: a, identity: Self.identity, start: .now)
            }
            guard let request = Self.shadowBody(rendered, model: nil, user: merged.user) else { return nil }
            let a = Self.attribution(purpose: purpose, user: request.user, primary: primaryID)
            return await chat.handle(body: request.body, attribution: a, identity: Self.identity, prompt: PromptRef(prompt))
        }
    }

    /// Calls `start` with the live call's id once `reply` is known to be shadowable: now for
    /// a whole answer, when the stream ended cleanly for a stream.
    static func whenShadowable(_ reply: ChatReply, _ start: @escaping @Sendable (String) -> Void) {
        switch reply {
        case .json(let status, _, let meta):
            guard status == 200, !meta.degraded, meta.cache == "miss" || meta.cache == "bypass", let id = meta.callID else { return }
            start(id)
        case .failure(let error, let meta):
            if error.code == .schemaValidationFailed, let id = meta.callID { start(id) }
        case .stream(let relay, _):
            relay.whenCleanEnd { record in start(record.callID) }
        case .events:
            return
        }
    }

    /// The attribution of a shadow run: its own purpose and no run (so no run limit or run total
    /// includes it), the cache bypassed, the live call named.
    static func attribution(purpose: String, user: String?, primary: String) -> Attribution {
        var a = Attribution(purpose: ShadowNames.purpose(of: purpose), user: user, cacheMode: "bypass")
        a.shadowOf = primary
        return a
    }

    /// The shadow's setting when `purpose` has one (with a model, when `needsModel`), the sample
    /// picks this call and a slot is free (then held until ``finish(_:_:)``); counts the decision.
    private func admit(_ purpose: String, needsModel: Bool = false) -> SluiceConfig.Shadow? {
        guard ShadowNames.basePurpose(of: purpose) == nil, let shadow = lookup(purpose), shadow.sample > 0,
            !needsModel || shadow.model != nil
        else { return nil }
        let draw = random.withLock { $0 }()
        guard draw < shadow.sample else { return nil }
        return state.withLock { s -> SluiceConfig.Shadow? in
            s.counters[purpose, default: ShadowCounters()].sampled += 1
            guard s.inFlight[purpose, default: 0] < shadow.maxConcurrency else {
                s.counters[purpose, default: ShadowCounters()].skippedBusy += 1
                return nil
            }
            s.inFlight[purpose, default: 0] += 1
            s.total += 1
            return shadow
        }
    }

    /// Starts the run in a detached task that holds the purpose's slot until it ends.
    private func launch(_ purpose: String, _ shadow: SluiceConfig.Shadow, _ run: @escaping @Sendable () async throws -> ChatReply?) {
        Task.detached(priority: .low) { [self] in
            var outcome = Outcome.failed
            defer { finish(purpose, outcome) }
            if let cap = shadow.dailyBudgetUSD, await spentToday(purpose) >= cap {
                outcome = .skippedBudget
                return
            }
            do {
                guard let reply = try await run() else { return }
                outcome = Self.outcome(of: reply)
                if case .json(_, _, let meta) = reply, let cost = meta.costUSD { addSpend(purpose, cost) }
                if case .failure(let error, let meta) = reply {
                    logger.info(
                        "shadow run failed", metadata: ["purpose": "\(purpose)", "call_id": "\(meta.callID ?? "")", "error": "\(error.message)"])
                }
            } catch {
                logger.warning("shadow run could not start", metadata: ["purpose": "\(purpose)", "error": "\(error)"])
            }
        }
    }

    enum Outcome { case ok, failed, skippedBudget }

    static func outcome(of reply: ChatReply) -> Outcome {
        if case .json(let status, _, _) = reply, status == 200 { return .ok }
        return .failed
    }

    private func finish(_ purpose: String, _ outcome: Outcome) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            switch outcome {
            case .ok: s.counters[purpose, default: ShadowCounters()].completed += 1
            case .failed: s.counters[purpose, default: ShadowCounters()].failed += 1
            case .skippedBudget: s.counters[purpose, default: ShadowCounters()].skippedBudget += 1
            }
            s.inFlight[purpose, default: 1] -= 1
            s.total -= 1
            guard s.total == 0 else { return [] }
            defer { s.idleWaiters = [] }
            return s.idleWaiters
        }
        for w in waiters { w.resume() }
    }

    private func addSpend(_ purpose: String, _ usd: Double) {
        let day = Windows.day(clock.now())
        state.withLock { s in
            let before = s.spent[purpose].flatMap { $0.day == day ? $0.usd : nil } ?? 0
            s.spent[purpose] = (day, before + usd)
        }
    }

    /// What `PURPOSE:shadow` spent this UTC day: the ledger's total (every node's, once
    /// written) or this node's own, whichever is larger (the ledger is written in batches).
    func spentToday(_ purpose: String) async -> Double {
        let now = clock.now()
        let day = Windows.day(now)
        let local = state.withLock { s in s.spent[purpose].flatMap { $0.day == day ? $0.usd : nil } ?? 0 }
        do {
            let totals = try await ledger.ledgerTotals(
                from: Windows.startOfDay(now), to: now.addingTimeInterval(1), by: nil, purpose: ShadowNames.purpose(of: purpose))
            return max(local, totals.first?.costUSD ?? 0)
        } catch {
            logger.warning("could not read the shadow's spend; using this node's", metadata: ["purpose": "\(purpose)", "error": "\(error)"])
            return local
        }
    }
}
